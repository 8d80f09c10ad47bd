//! A server started with another secret than the data was written with refuses to start.

use pingyi::config::Config;
use pingyi::startup::{App, StartupError};
use serde_json::json;

use crate::cases::UNIT;
use crate::ratings::{code_of, rate};

crate::on_both_engines! {
    async fn a_server_with_another_secret_refuses_to_start_and_says_why(app) {
        let code = code_of(&app, UNIT).await;
        let r = rate(&app.anonymous(), json!({"code": code, "satisfied": false, "reasons": ["not_done"], "phone": "13912345678"})).await;
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        let mut config = Config::for_database(app.database.clone());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.run_jobs = false;
        // A random secret: not the test servers' one.
        let refused = App::build(config).await.err().expect("the server must not start");
        assert!(matches!(refused, StartupError::SecretDiffers), "{refused}");
        assert!(refused.to_string().contains("PINGYI_SECRET_KEY"), "says what to do: {refused}");
        // The worker refuses too; the right secret still starts.
        let out = app.cli(&["worker", "--once"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let other = std::process::Command::new(env!("CARGO_BIN_EXE_pingyi"))
            .args(["--database", &app.database.to_string(), "worker", "--once"])
            .env("PINGYI_SECRET_KEY", "17".repeat(32))
            .output()
            .unwrap();
        assert!(!other.status.success());
        assert!(String::from_utf8_lossy(&other.stderr).contains("server secret"), "{}", String::from_utf8_lossy(&other.stderr));
        let _second = app.another_server().await;
    }
}
