//! `pingyi audit verify [--checkpoint FILE]` and `pingyi audit checkpoint`: the audit chain
//! checked as it is (never re-keyed here), and signed checkpoints of its head.

use std::process::ExitCode;

use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, GlobalArgs, load_config};
use crate::startup;
use crate::store::Store;
use crate::store::audit::{self, Verdict};

#[derive(Debug, Subcommand)]
pub(super) enum AuditAction {
    /// Check the hash chain; exits non-zero and names the first edited, removed or reordered row.
    Verify {
        /// Also check the chain against a checkpoint taken earlier (`pingyi audit checkpoint`).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Print a signed checkpoint of the chain's head (JSON), to keep where database writers
    /// cannot change it; `verify --checkpoint FILE` checks the chain against it later.
    Checkpoint {
        /// Write it to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

pub(super) async fn audit_command(global: &GlobalArgs, action: AuditAction) -> Result<ExitCode, CliError> {
    let config = load_config(global, None, false)?;
    // Verifying opens the store without re-keying it: a chain is checked as it is.
    let store = Store::open(&config.database).await?;
    // With another secret every keyed hash would look edited: say what is wrong instead.
    startup::check_secret(&store, &config).await.map_err(|e| CliError::Failed(e.to_string()))?;
    let key = config.secret.audit_key();
    match action {
        AuditAction::Verify { checkpoint } => {
            let checkpoint = match &checkpoint {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
                    let cp: crate::domain::audit::Checkpoint = serde_json::from_str(&text)
                        .map_err(|e| CliError::Usage(format!("{}: not a checkpoint: {e}", path.display())))?;
                    Some(cp)
                }
                None => None,
            };
            match audit::verify(&store, &key).await? {
                Verdict::Intact(n) => println!("audit trail intact: {n} rows verified"),
                Verdict::Broken(b) => {
                    eprintln!("audit trail BROKEN: {b}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            if let Some(cp) = checkpoint {
                match audit::check_checkpoint(&store, &key, &cp).await? {
                    Ok(()) => println!("checkpoint of row {} holds", cp.seq),
                    Err(b) => {
                        eprintln!("audit trail BROKEN: {b}");
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
        }
        AuditAction::Checkpoint { output } => {
            let cp = audit::checkpoint(&store, &key).await?;
            let text = serde_json::to_string_pretty(&cp).map_err(|e| CliError::Failed(e.to_string()))?;
            match output {
                Some(path) => {
                    std::fs::write(&path, format!("{text}\n"))
                        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
                    println!("checkpoint of row {} written to {}", cp.seq, path.display());
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
