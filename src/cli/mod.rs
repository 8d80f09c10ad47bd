//! The command line: every subcommand of `pingyi`, parsed by clap and run here. Each one that
//! touches the store takes the same `--database`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod audit;
mod bench;
mod calendar;
mod qr;
mod rollups;
mod transfer;
mod users;

use bench::BenchWhat;
use transfer::{ExportWhat, ImportWhat};

use crate::config::{Config, Overrides};
use crate::demo::{self, DemoOptions};
use crate::startup::{self, App};
use crate::store::{Store, StoreError};

/// Pingyi (评议): public-service satisfaction ratings and the closed loop from complaint to fix.
#[derive(Debug, Parser)]
#[command(name = "pingyi", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Database: sqlite://PATH (default sqlite://pingyi.db) or postgres://…
    #[arg(long, global = true, env = "PINGYI_DATABASE")]
    database: Option<String>,
    /// A TOML configuration file.
    #[arg(long, global = true, env = "PINGYI_CONFIG")]
    config: Option<PathBuf>,
    /// Log filter, e.g. info or pingyi=debug.
    #[arg(long, global = true, env = "PINGYI_LOG")]
    log: Option<String>,
    /// Base URL printed on QR posters (default http://LISTEN).
    #[arg(long, global = true, env = "PINGYI_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web application and API (creates and migrates the database).
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "PINGYI_LISTEN")]
        listen: Option<String>,
        /// Load the demo city first if it is not there.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (when served behind HTTPS).
        #[arg(long, env = "PINGYI_SECURE_COOKIES")]
        secure_cookies: bool,
    },
    /// Apply the embedded database migrations.
    Migrate,
    /// Run the durable job runner alone (notifications and other background work).
    Worker {
        /// Run the jobs that are due now, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Load the demo city (7 districts, 40 departments, 3,200 units, 10 inspection teams, a user per role).
    Demo {
        /// Number of units.
        #[arg(long, default_value_t = 3200)]
        units: usize,
        /// Also generate this many ratings of history (with their rollups) for dashboards.
        #[arg(long, default_value_t = 0)]
        ratings: u64,
        /// Spread the history over this many days up to today.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Import org nodes or staff from CSV or XLSX (all or nothing, idempotent).
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Export the org tree as CSV or XLSX.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API bearer tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        action: audit::AuditAction,
    },
    /// Measure performance against a no-op baseline of the same server and record the figures.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
    /// The working-day calendar.
    Calendar {
        #[command(subcommand)]
        action: CalendarAction,
    },
    /// Rating codes and QR posters.
    Qr {
        #[command(subcommand)]
        action: QrAction,
    },
    /// The rating rollups behind dashboards and rankings.
    Rollups {
        #[command(subcommand)]
        action: RollupsAction,
    },
}

#[derive(Debug, Subcommand)]
enum RollupsAction {
    /// Recompute the rating rollups from the raw ratings and compare, changing nothing; exits
    /// non-zero and prints the differing rows when they differ.
    Check,
    /// Recompute the rating rollups from the raw ratings and keep them (a repair), printing
    /// what changed.
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum CalendarAction {
    /// What kind of day DATE (YYYY-MM-DD) is.
    Day {
        /// YYYY-MM-DD.
        date: String,
    },
    /// Import official notices from a TOML file of `[[year]]` entries (the format of
    /// calendars/cn.toml); open SLA clocks on provisional days are recomputed.
    Import {
        /// The file.
        file: PathBuf,
    },
    /// The deadline N working days from START (RFC 3339, or YYYY-MM-DD for that day in China).
    Add {
        /// Start.
        start: String,
        /// Working days.
        n: u32,
    },
}

#[derive(Debug, Subcommand)]
enum QrAction {
    /// Issue a code for every unit and window under a node that has none.
    Issue {
        /// Root of the subtree.
        #[arg(long, default_value = "XN")]
        under: String,
    },
    /// Write printable posters (A5 or A4) for every live code under a node: one HTML document
    /// (.html) or an archive with the document and each code as SVG and PNG (.zip).
    Posters {
        /// Root of the subtree: one unit, a department, or the whole city.
        #[arg(long, default_value = "XN")]
        under: String,
        /// Paper: a5 or a4.
        #[arg(long, default_value = "a5")]
        paper: String,
        /// Output file, .html or .zip.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Revoke the code of a unit or window (a lost poster) and issue a new one.
    Reissue {
        /// The unit's or window's code.
        code: String,
    },
    /// Start signing new codes with a new key; printed codes keep working.
    RotateKey,
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add a user; the password is read from the first line of standard input.
    Add {
        /// Login name.
        name: String,
        /// admin, supervisor, inspector, unit_head, staff or enterprise.
        #[arg(long)]
        role: String,
        /// Org code of a subtree the user may see (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Name shown to people (defaults to the login name).
        #[arg(long)]
        display_name: Option<String>,
        /// Address for email notifications.
        #[arg(long)]
        email: Option<String>,
    },
    /// Set a user's password from the first line of standard input; ends their sessions.
    Passwd {
        /// Login name.
        name: String,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Create a bearer token for a user and print it (shown once).
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List tokens.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `token list`).
        id: String,
    },
}

/// Why a command failed; printed on standard error.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Startup(#[from] startup::StartupError),
    #[error("{0}")]
    Failed(String),
}

/// Runs a parsed command line; the exit code is 0 on success, 1 on failure, 2 on bad usage.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(CliError::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(global: &GlobalArgs, listen: Option<String>, secure_cookies: bool) -> Result<Config, CliError> {
    let o = Overrides {
        listen,
        database: global.database.clone(),
        log: global.log.clone(),
        secure_cookies: secure_cookies.then_some(true),
        config_file: global.config.clone(),
        secret_key: std::env::var("PINGYI_SECRET_KEY").ok().filter(|s| !s.is_empty()),
        public_url: global.public_url.clone(),
        smtp_url: std::env::var("PINGYI_SMTP_URL").ok().filter(|s| !s.is_empty()),
        mail_from: std::env::var("PINGYI_MAIL_FROM").ok().filter(|s| !s.is_empty()),
        rating_inbox: std::env::var("PINGYI_RATING_INBOX").ok().filter(|s| !s.is_empty()),
    };
    let config = Config::load(&o).map_err(CliError::Usage)?;
    startup::init_tracing(&config.log);
    Ok(config)
}

/// Opens and migrates the store, ready for this process to write (see [`startup::prepare`]).
async fn open(config: &Config) -> Result<Store, CliError> {
    let store = Store::open(&config.database).await?;
    startup::prepare(&store, config).await.map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(store)
}

fn print_demo_logins(summary: &demo::DemoSummary, url: &str) {
    println!("Demo logins (password for all: {}):", demo::DEMO_PASSWORD);
    for (name, role, scope) in &summary.users {
        println!("  {name:<12} {:<11} scope {scope}", role.as_str());
    }
    println!("Open {url}/login");
}

/// Ratings of history `serve --demo` generates.
const DEMO_RATINGS: u64 = 100_000;

async fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Serve { listen, demo, secure_cookies } => {
            let config = load_config(&cli.global, listen, secure_cookies)?;
            let app = App::build(config.clone()).await?;
            let url = format!("http://{}", app.local_addr());
            if demo {
                let summary = demo::load(app.store(), DemoOptions::default())
                    .await
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                if !summary.already_loaded {
                    println!(
                        "Loaded the demo city: {} org nodes, {} staff, {} inspection teams, {} rating codes.",
                        summary.nodes, summary.staff, summary.teams.0, summary.codes
                    );
                    // A history for the dashboards; the last days' unsatisfied ratings become
                    // cases as the server's job runner picks them up.
                    let h = crate::demo_history::generate(app.store(), DEMO_RATINGS, 180, 3, false)
                        .await
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                    println!(
                        "Generated {} ratings over 180 days; {} cases are being opened.",
                        h.ratings, h.cases_queued
                    );
                    crate::demo_history::enterprise_cases(app.store(), &app.state().calendar)
                        .await
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                    let l = crate::demo_supervision::generate(app.store(), &app.state().calendar, &config.files_dir)
                        .await
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                    println!(
                        "Inspection: {} visits, {} items in the ledger, {} closed, {} cadres held to account.",
                        l.visits, l.items, l.closed, l.held
                    );
                    let d = crate::demo_enterprise::generate(app.store(), &app.state().calendar)
                        .await
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                    println!(
                        "Key projects: 36 projects, {} monthly reports, {} channel messages, {} desk requests.",
                        d.reports, d.messages, d.requests
                    );
                }
                print_demo_logins(&summary, &url);
            }
            tracing::info!(%url, database = %config.database, "serving");
            println!("Pingyi is serving on {url} ({})", config.database);
            // Serve from a worker task: the thread that called block_on is not a runtime worker,
            // and a server driven from it keeps one core busy polling.
            tokio::spawn(app.run_until(startup::shutdown_signal()))
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?
                .map_err(|e| CliError::Failed(e.to_string()))?;
        }
        Command::Worker { once } => {
            let config = load_config(&cli.global, None, false)?;
            let store = open(&config).await?;
            let outbound =
                std::sync::Arc::new(crate::jobs::Outbound::new(config.smtp_url.clone(), config.mail_from.clone()));
            let store_for_sweeps = store.clone();
            let calendar = std::sync::Arc::new(crate::calendar_data::CalendarHandle::new(crate::calendar_data::load()));
            calendar.reload(&store).await.map_err(|e| CliError::Failed(e.to_string()))?;
            let runner = crate::jobs::Runner::new(store, crate::startup::worker_name(), outbound)
                .with_calendar(calendar.clone());
            if once {
                let n = runner.run_until_empty().await?;
                println!("{n} job(s) run");
            } else {
                runner.spawn();
                crate::jobs::sweeps::spawn_every_minute(store_for_sweeps, calendar);
                startup::shutdown_signal().await;
            }
        }
        Command::Migrate => {
            let config = load_config(&cli.global, None, false)?;
            let store = Store::connect(&config.database).await?;
            let n = store.migrate().await?;
            println!("{n} migration(s) applied to {}", config.database);
        }
        Command::Demo { units, ratings, days } => {
            let config = load_config(&cli.global, None, false)?;
            let store = open(&config).await?;
            if days < 1 {
                return Err(CliError::Failed("--days must be at least 1".into()));
            }
            let summary = demo::load(&store, DemoOptions { units, progress: true })
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            if summary.already_loaded {
                println!("The demo city is already loaded in {}.", config.database);
            } else {
                println!(
                    "Loaded the demo city into {}: {} org nodes, {} staff, {} inspection teams with {} members, {} rating codes.",
                    config.database, summary.nodes, summary.staff, summary.teams.0, summary.teams.1, summary.codes
                );
            }
            if ratings > 0 {
                let started = std::time::Instant::now();
                let h = crate::demo_history::generate(&store, ratings, days, 3, true)
                    .await
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                println!(
                    "Generated {} ratings ({} unsatisfied) over {days} days in {:.0?}; {} cases queued for the job runner.",
                    h.ratings,
                    h.unsatisfied,
                    started.elapsed(),
                    h.cases_queued
                );
                let calendar = crate::calendar_data::CalendarHandle::new(crate::calendar_data::load());
                calendar.reload(&store).await?;
                let filed = crate::demo_history::enterprise_cases(&store, &calendar)
                    .await
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                println!("{filed} cases filed by the demo enterprise.");
                let l = crate::demo_supervision::generate(&store, &calendar, &config.files_dir)
                    .await
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                println!(
                    "Inspection: {} visits, {} items in the ledger, {} closed, {} cadres held to account.",
                    l.visits, l.items, l.closed, l.held
                );
                let d = crate::demo_enterprise::generate(&store, &calendar)
                    .await
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                println!(
                    "Key projects: 36 projects, {} monthly reports, {} channel messages, {} desk requests.",
                    d.reports, d.messages, d.requests
                );
            }
            print_demo_logins(&summary, &format!("http://{}", config.listen));
        }
        Command::Import { what } => return transfer::import_command(&cli.global, what).await,
        Command::Export { what } => transfer::export_command(&cli.global, what).await?,
        Command::User { action } => users::user_command(&cli.global, action).await?,
        Command::Qr { action } => qr::qr_command(&cli.global, action).await?,
        Command::Calendar { action: CalendarAction::Import { file } } => {
            return calendar::import_command(&cli.global, &file).await;
        }
        Command::Calendar { action } => calendar::calendar_command(action)?,
        Command::Bench { what } => bench::bench_command(what).await?,
        Command::Token { action } => users::token_command(&cli.global, action).await?,
        Command::Rollups { action } => return rollups::rollups_command(&cli.global, action).await,
        Command::Audit { action } => return audit::audit_command(&cli.global, action).await,
    }
    Ok(ExitCode::SUCCESS)
}
