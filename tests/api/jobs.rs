//! The durable job runner and notifications: exactly-once with two runners, signed webhooks
//! retried after failures, the dead-letter list, email over a real SMTP server, and the
//! outbox written with an alert.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode as AxStatus};
use pingyi::jobs::{Outbound, Runner};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What the test webhook receiver saw: (delivery id, event, signature, body).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A webhook receiver on a free port; it fails the first `fail_first` requests with a 500.
async fn receiver(fail_first: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let failures = Arc::new(Mutex::new(fail_first));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let seen = seen.clone();
            move |headers: HeaderMap, body: String| {
                let seen = seen.clone();
                let failures = failures.clone();
                async move {
                    {
                        let mut f = failures.lock().unwrap();
                        if *f > 0 {
                            *f -= 1;
                            return AxStatus::INTERNAL_SERVER_ERROR;
                        }
                    }
                    let h = |k: &str| headers.get(k).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                    seen.lock().unwrap().push((
                        h("x-pingyi-delivery"),
                        h("x-pingyi-event"),
                        h("x-pingyi-signature"),
                        body,
                    ));
                    AxStatus::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn subscribe(app: &crate::helpers::TestApp, url: &str) -> String {
    let admin = app.login("admin").await;
    let r = admin.post_json("/api/v1/webhooks", &json!({"url": url, "events": ["*"]})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    v["secret"].as_str().unwrap().to_owned()
}

fn outbound(smtp: Option<String>) -> Arc<Outbound> {
    Arc::new(Outbound::new(smtp, "Pingyi <noreply@pingyi.localhost>".into()))
}

async fn enqueue_event(app: &crate::helpers::TestApp, n: usize) {
    let mut tx = app.store.write().await.unwrap();
    for i in 0..n {
        pingyi::jobs::webhook::enqueue_event(&mut tx, "alert.opened", &json!({"n": i})).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn count_jobs(app: &crate::helpers::TestApp, state: &str) -> i64 {
    sqlx::query_scalar("select cast(count(*) as bigint) from jobs where state = $1")
        .bind(state)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// A real SMTP server from Python's standard library that prints every message it receives.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mail.log");
        let child = std::process::Command::new("python3")
            .args(["-W", "ignore", "-u", "-m", "smtpd", "-n", "-c", "DebuggingServer", &format!("127.0.0.1:{port}")])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m smtpd (Python 3.11 standard library)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        SmtpSink { child, port, out, _dir: dir }
    }

    fn received(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

crate::on_both_engines! {
    async fn two_runners_run_every_job_exactly_once(app) {
        let (url, seen) = receiver(0).await;
        subscribe(&app, &url).await;
        enqueue_event(&app, 200).await;
        let out = outbound(None);
        let a = Runner::new(app.store.clone(), "runner-a", out.clone());
        let b = Runner::new(app.store.clone(), "runner-b", out);
        let (ra, rb) = tokio::join!(
            async { let mut n = 0; loop { let k = a.run_once(7).await.unwrap(); if k == 0 { break n; } n += k; } },
            async { let mut n = 0; loop { let k = b.run_once(7).await.unwrap(); if k == 0 { break n; } n += k; } },
        );
        assert_eq!(ra + rb, 200, "a ran {ra}, b ran {rb}");
        let seen = seen.lock().unwrap().clone();
        let mut ids: Vec<&String> = seen.iter().map(|s| &s.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!((seen.len(), ids.len()), (200, 200), "every job delivered once");
        assert_eq!(count_jobs(&app, "done").await, 200);
    }

    async fn a_failed_webhook_is_retried_and_delivered_with_a_valid_signature(app) {
        let (url, seen) = receiver(1).await;
        let secret = subscribe(&app, &url).await;
        enqueue_event(&app, 1).await;
        let runner = Runner::new(app.store.clone(), "runner", outbound(None));
        assert_eq!(runner.run_until_empty().await.unwrap(), 1);
        assert_eq!(count_jobs(&app, "queued").await, 1, "queued again after the 500, with a backoff");
        assert_eq!(runner.run_until_empty().await.unwrap(), 0, "not due yet");
        sqlx::query("update jobs set run_at = 0").execute(app.store.pool()).await.unwrap();
        assert_eq!(runner.run_until_empty().await.unwrap(), 1);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let (_, event, signature, body) = &seen[0];
        assert_eq!(event, "alert.opened");
        assert_eq!(signature, &pingyi::jobs::webhook::signature(&secret, body.as_bytes()));
        assert_ne!(signature, &pingyi::jobs::webhook::signature("wrong secret", body.as_bytes()));
        assert_eq!(count_jobs(&app, "done").await, 1);
    }

    async fn a_job_out_of_attempts_lands_in_the_dead_letter_list(app) {
        let (url, _seen) = receiver(100).await;
        subscribe(&app, &url).await;
        enqueue_event(&app, 1).await;
        sqlx::query("update jobs set max_attempts = 2").execute(app.store.pool()).await.unwrap();
        let runner = Runner::new(app.store.clone(), "runner", outbound(None));
        for _ in 0..2 {
            sqlx::query("update jobs set run_at = 0 where state = 'queued'").execute(app.store.pool()).await.unwrap();
            runner.run_until_empty().await.unwrap();
        }
        let admin = app.login("admin").await;
        let dead = admin.get_json("/api/v1/jobs?state=dead", StatusCode::OK).await;
        assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
        assert!(dead[0]["last_error"].as_str().unwrap().contains("500"));
        let id = dead[0]["id"].as_str().unwrap();
        assert_eq!(admin.post_json(&format!("/api/v1/jobs/{id}/retry"), &json!({})).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(count_jobs(&app, "queued").await, 1);
        assert_eq!(app.login("supervisor").await.get("/api/v1/jobs").await.status(), StatusCode::FORBIDDEN);
    }

    async fn an_alert_emails_the_unit_head_over_smtp_and_calls_the_webhook(app) {
        let smtp = SmtpSink::start();
        let (url, seen) = receiver(0).await;
        subscribe(&app, &url).await;
        sqlx::query("update users set email = 'head@xn-cd-ga-001.example' where username = 'unithead'").execute(app.store.pool()).await.unwrap();
        let code = crate::ratings::code_of(&app, "XN-CD-GA-001").await;
        for i in 0..4 {
            let r = app.anonymous().http.post(app.url("/api/v1/ratings")).header("user-agent", format!("phone-{i}"))
                .json(&json!({"code": code, "satisfied": false, "reasons": ["not_done"]})).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        // Each rating's case tells the unit head (an email) and the webhook (`case.transition`)
        // in the rating's own commit; the alert, raised after the commits, adds one of each.
        let mut queued = 0;
        for _ in 0..50 {
            queued = count_jobs(&app, "queued").await;
            if queued >= 10 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(queued, 10, "4 cases and the alert: an email and a webhook each");
        let runner = Runner::new(app.store.clone(), "runner", outbound(Some(format!("smtp://127.0.0.1:{}", smtp.port))));
        assert_eq!(runner.run_until_empty().await.unwrap(), 10);
        assert_eq!(count_jobs(&app, "done").await, 10, "{:?}", app.login("admin").await.get_json("/api/v1/jobs?state=queued", StatusCode::OK).await);
        let seen = seen.lock().unwrap().clone();
        let events: Vec<&str> = seen.iter().map(|s| s.1.as_str()).collect();
        assert_eq!(events.iter().filter(|e| **e == "case.transition").count(), 4, "{events:?}");
        let alerts: Vec<_> = seen.iter().filter(|s| s.1 != "case.transition").collect();
        assert_eq!(alerts.len(), 1, "{events:?}");
        assert!(alerts[0].3.contains("XN-CD-GA-001"));
        let mail = smtp.received();
        assert!(mail.contains("To: head@xn-cd-ga-001.example"), "{mail}");
        assert_eq!(mail.matches("MESSAGE FOLLOWS").count(), 5, "four case notices and the alert: {mail}");
        assert!(mail.contains("From: Pingyi <noreply@pingyi.localhost>"), "{mail}");
    }
}

crate::on_both_engines! {
    async fn a_text_message_goes_to_the_sms_gateway_adapter_only(app) {
        let (gateway, texts) = receiver(0).await;
        let (other, others) = receiver(0).await;
        let admin = app.login("admin").await;
        assert_eq!(admin.post_json("/api/v1/webhooks", &json!({"url": gateway, "events": ["sms"]})).await.status(), StatusCode::CREATED);
        assert_eq!(admin.post_json("/api/v1/webhooks", &json!({"url": other, "events": ["*"]})).await.status(), StatusCode::CREATED);
        let phone = pingyi::domain::rating::Phone::parse("13912345678").unwrap();
        let mut tx = app.store.write().await.unwrap();
        assert_eq!(pingyi::jobs::sms::enqueue(&mut tx, &phone, "您的评价已受理").await.unwrap(), 1);
        tx.commit().await.unwrap();
        Runner::new(app.store.clone(), "runner", outbound(None)).run_until_empty().await.unwrap();
        let texts = texts.lock().unwrap().clone();
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].1, "sms");
        let body: Value = serde_json::from_str(&texts[0].3).unwrap();
        assert_eq!((body["data"]["to"].as_str(), body["data"]["text"].as_str()), (Some("13912345678"), Some("您的评价已受理")));
        assert!(others.lock().unwrap().is_empty(), "`*` does not receive phone numbers");
    }
}
