//! One typed configuration, read from flags, `PINGYI_*` environment variables and an optional
//! TOML file (in that order of precedence), validated once at startup and passed in.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::secrets::Secret;

/// Where the data lives. Displays without any password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An embedded SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server, `postgres://…`.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `sqlite:PATH`, a bare file path, or `postgres://…`/`postgresql://…`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("database: empty".into());
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(s.to_owned()));
        }
        if let Some(rest) = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")) {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("database: sqlite:// needs a file path".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if s.contains("://") {
            return Err(format!(
                "database: unsupported scheme in {:?}; use sqlite://PATH or postgres://…",
                s.split("://").next().unwrap_or_default()
            ));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(s)))
    }

    /// The URL to hand to the driver (contains the password, never log it).
    pub fn connect_url(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// The SQLite file, for SQLite URLs.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseUrl::Sqlite(p) => Some(p),
            DatabaseUrl::Postgres(_) => None,
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => {
                // postgres://user:password@host/db → postgres://user:****@host/db
                match (url.find("://"), url.rfind('@')) {
                    (Some(scheme_end), Some(at)) if at > scheme_end => {
                        let userinfo = &url[scheme_end + 3..at];
                        let user = userinfo.split(':').next().unwrap_or_default();
                        let masked = if userinfo.contains(':') { format!("{user}:****") } else { user.to_owned() };
                        write!(f, "{}{}{}", &url[..scheme_end + 3], masked, &url[at..])
                    }
                    _ => f.write_str(url),
                }
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Settings that may come from the optional TOML file (`--config FILE` or `PINGYI_CONFIG`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on.
    pub listen: Option<String>,
    /// Database URL.
    pub database: Option<String>,
    /// Log filter, e.g. `info,pingyi=debug`.
    pub log: Option<String>,
    /// Mark cookies `Secure` (when served behind HTTPS).
    pub secure_cookies: Option<bool>,
    /// Largest request body accepted by ordinary endpoints, in bytes.
    pub max_body_bytes: Option<usize>,
    /// Largest import file accepted, in bytes.
    pub max_import_bytes: Option<usize>,
    /// Most ratings one XLSX export holds (default 100000); a larger period is refused, never cut short (CSV is streamed and takes any period).
    pub max_export_ratings: Option<usize>,
    /// The server secret as 64 hex characters (better: `PINGYI_SECRET_KEY` or `secret_file`).
    pub secret_key: Option<String>,
    /// File holding the server secret; created if missing (default `pingyi.secret`).
    pub secret_file: Option<PathBuf>,
    /// Public base URL printed on QR posters, e.g. `https://pingyi.example.gov.cn`.
    pub public_url: Option<String>,
    /// SMTP server for email notifications, e.g. `smtps://user:pass@smtp.example.gov.cn`.
    pub smtp_url: Option<String>,
    /// Sender of email notifications.
    pub mail_from: Option<String>,
    /// Run the job runner inside `serve` (default true; false when `pingyi worker` runs them).
    pub run_jobs: Option<bool>,
    /// `auto`, `always` or `never`.
    pub rating_inbox: Option<crate::ingest::InboxMode>,
    /// Where evidence files are kept (default: `pingyi-files` beside a SQLite database, or in
    /// the working directory).
    pub files_dir: Option<PathBuf>,
    /// Largest evidence file, bytes (default 10 MiB).
    pub max_attachment_bytes: Option<usize>,
}

/// Values given on the command line or in the environment (clap fills both).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen` / `PINGYI_LISTEN`.
    pub listen: Option<String>,
    /// `--database` / `PINGYI_DATABASE`.
    pub database: Option<String>,
    /// `--log` / `PINGYI_LOG`.
    pub log: Option<String>,
    /// `--secure-cookies` / `PINGYI_SECURE_COOKIES`.
    pub secure_cookies: Option<bool>,
    /// `--config` / `PINGYI_CONFIG`.
    pub config_file: Option<PathBuf>,
    /// `PINGYI_SECRET_KEY` (never a flag: flags show in process lists).
    pub secret_key: Option<String>,
    /// `--public-url` / `PINGYI_PUBLIC_URL`.
    pub public_url: Option<String>,
    /// `PINGYI_SMTP_URL` (holds a password: never a flag).
    pub smtp_url: Option<String>,
    /// `PINGYI_MAIL_FROM`.
    pub mail_from: Option<String>,
    /// `PINGYI_RATING_INBOX`: `auto`, `always` or `never`.
    pub rating_inbox: Option<String>,
}

/// The validated configuration. Its Debug output masks the SMTP password.
#[derive(Clone)]
pub struct Config {
    /// Address the server listens on.
    pub listen: SocketAddr,
    /// Where the data lives.
    pub database: DatabaseUrl,
    /// Log filter.
    pub log: String,
    /// Whether cookies carry the `Secure` flag.
    pub secure_cookies: bool,
    /// Largest ordinary request body, bytes.
    pub max_body_bytes: usize,
    /// Largest import file, bytes.
    pub max_import_bytes: usize,
    /// Most ratings one XLSX export holds (CSV is streamed).
    pub max_export_ratings: usize,
    /// The server secret (phone encryption, hashing of device ids and addresses).
    pub secret: Secret,
    /// Base URL for links printed on posters; defaults to `http://{listen}`.
    pub public_url: String,
    /// SMTP server URL, when email notifications are on. Holds a password: never logged.
    pub smtp_url: Option<String>,
    /// Sender address of notifications.
    pub mail_from: String,
    /// Run background work inside the server: the job runner and the minute sweeps (SLA
    /// colours, alert windows, invitation defaults). Off in tests that drive them with their
    /// own clock, and where `pingyi worker` processes run the jobs.
    pub run_jobs: bool,
    /// Where evidence files (photos, PDFs) are stored, by content hash.
    pub files_dir: PathBuf,
    /// Largest evidence file, bytes.
    pub max_attachment_bytes: usize,
    /// Where the rating writer commits ratings under load (see [`crate::ingest::InboxMode`]).
    pub rating_inbox: crate::ingest::InboxMode,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field("log", &self.log)
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "****"))
            .field("mail_from", &self.mail_from)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Defaults: SQLite `./pingyi.db`, 127.0.0.1:8080.
    pub fn for_database(database: DatabaseUrl) -> Self {
        let files_dir = match &database {
            DatabaseUrl::Sqlite(path) => path.parent().unwrap_or(Path::new("")).join("pingyi-files"),
            DatabaseUrl::Postgres(_) => PathBuf::from("pingyi-files"),
        };
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database,
            log: "info".into(),
            secure_cookies: false,
            max_body_bytes: 64 * 1024,
            max_import_bytes: 16 * 1024 * 1024,
            max_export_ratings: 100_000,
            secret: Secret::random(),
            public_url: "http://127.0.0.1:8080".into(),
            smtp_url: None,
            mail_from: "评议 Pingyi <noreply@pingyi.localhost>".into(),
            run_jobs: true,
            files_dir,
            max_attachment_bytes: 10 * 1024 * 1024,
            rating_inbox: crate::ingest::InboxMode::Auto,
        }
    }

    /// Builds the configuration: flags and environment over the file over the defaults.
    /// Every problem is reported with the setting's name.
    pub fn load(o: &Overrides) -> Result<Self, String> {
        let file = match &o.config_file {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("config file {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| format!("config file {}: {e}", path.display()))?
            }
        };
        let database =
            DatabaseUrl::parse(o.database.as_deref().or(file.database.as_deref()).unwrap_or("sqlite://pingyi.db"))?;
        let mut config = Config::for_database(database);
        if let Some(listen) = o.listen.as_deref().or(file.listen.as_deref()) {
            config.listen =
                listen.parse().map_err(|_| format!("listen: {listen:?} is not an address such as 127.0.0.1:8080"))?;
        }
        if let Some(log) = o.log.clone().or(file.log) {
            config.log = log;
        }
        config.secure_cookies = o.secure_cookies.or(file.secure_cookies).unwrap_or(false);
        if let Some(n) = file.max_body_bytes {
            if n < 1024 {
                return Err("max_body_bytes: must be at least 1024".into());
            }
            config.max_body_bytes = n;
        }
        config.secret = match o.secret_key.as_deref().or(file.secret_key.as_deref()) {
            Some(hex) => Secret::from_hex(hex)?,
            None => Secret::load_or_create(file.secret_file.as_deref().unwrap_or(Path::new("pingyi.secret")))?,
        };
        config.public_url = match o.public_url.clone().or(file.public_url) {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.trim_end_matches('/').to_owned(),
            Some(u) => return Err(format!("public_url: {u:?} must start with http:// or https://")),
            None => format!("http://{}", config.listen),
        };
        config.smtp_url = o.smtp_url.clone().or(file.smtp_url).filter(|u| !u.trim().is_empty());
        if let Some(u) = &config.smtp_url
            && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
        {
            return Err("smtp_url: must start with smtp:// or smtps://".into());
        }
        config.run_jobs = file.run_jobs.unwrap_or(true);
        config.rating_inbox = match &o.rating_inbox {
            Some(mode) => mode.parse()?,
            None => file.rating_inbox.unwrap_or_default(),
        };
        if let Some(from) = o.mail_from.clone().or(file.mail_from) {
            config.mail_from = from;
        }
        if let Some(n) = file.max_import_bytes {
            if n < 1024 {
                return Err("max_import_bytes: must be at least 1024".into());
            }
            config.max_import_bytes = n;
        }
        if let Some(n) = file.max_export_ratings {
            if n == 0 {
                return Err("max_export_ratings: must be at least 1".into());
            }
            config.max_export_ratings = n;
        }
        if let Some(dir) = file.files_dir {
            config.files_dir = dir;
        }
        if let Some(n) = file.max_attachment_bytes {
            if n < 1024 {
                return Err("max_attachment_bytes: must be at least 1024".into());
            }
            config.max_attachment_bytes = n;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_parse_and_hide_passwords() {
        assert_eq!(DatabaseUrl::parse("sqlite://x.db"), Ok(DatabaseUrl::Sqlite("x.db".into())));
        assert_eq!(DatabaseUrl::parse("data/x.db"), Ok(DatabaseUrl::Sqlite("data/x.db".into())));
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        let pg = DatabaseUrl::parse("postgres://u:secret@127.0.0.1/db").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pg.to_string(), "postgres://u:****@127.0.0.1/db");
        assert!(!format!("{pg:?}").contains("secret"));
    }

    #[test]
    fn flags_win_over_the_file_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("pingyi.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\ndatabase = \"sqlite://file.db\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let key = Some("11".repeat(32));
        let o = Overrides {
            config_file: Some(path.clone()),
            database: Some("flag.db".into()),
            secret_key: key.clone(),
            ..Default::default()
        };
        let c = Config::load(&o).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.database, DatabaseUrl::Sqlite("flag.db".into()));
        let bad = Overrides { listen: Some("nowhere".into()), secret_key: key.clone(), ..Default::default() };
        assert!(Config::load(&bad).err().unwrap_or_default().starts_with("listen:"));
        std::fs::write(&path, "lisen = 1\n").unwrap_or_else(|e| panic!("{e}"));
        let o = Overrides { config_file: Some(path), secret_key: key.clone(), ..Default::default() };
        assert!(Config::load(&o).is_err());
        let short = Overrides { secret_key: Some("abc".into()), ..Default::default() };
        assert!(Config::load(&short).is_err());
    }
}
