//! `pingyi import org|staff` and `pingyi export org`: the org tree and staff as CSV or XLSX.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, GlobalArgs, load_config, open};
use crate::domain::ids::OrgCode;
use crate::imports::{self, Format, ImportError};
use crate::store::audit::Actor;
use crate::store::org;

#[derive(Debug, Subcommand)]
pub(super) enum ImportWhat {
    /// Org nodes: code, parent_code, kind, name[, name_en, address].
    Org {
        /// The .csv or .xlsx file.
        file: PathBuf,
        /// Validate and count only.
        #[arg(long)]
        dry_run: bool,
    },
    /// Staff: staff_no, org_code, name[, position].
    Staff {
        /// The .csv or .xlsx file.
        file: PathBuf,
        /// Validate and count only.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum ExportWhat {
    /// The org tree under a node.
    Org {
        /// Root of the exported subtree.
        #[arg(long, default_value = "XN")]
        under: String,
        /// Output file; its extension (.csv or .xlsx) picks the format. Standard output (CSV) if absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Imports a file of org nodes or staff, all or nothing; a file with problems lists them and
/// fails.
pub(super) async fn import_command(global: &GlobalArgs, what: ImportWhat) -> Result<ExitCode, CliError> {
    let config = load_config(global, None, false)?;
    let (file, dry_run, staff) = match what {
        ImportWhat::Org { file, dry_run } => (file, dry_run, false),
        ImportWhat::Staff { file, dry_run } => (file, dry_run, true),
    };
    let name = file.display().to_string();
    let format =
        Format::from_path(&name).ok_or_else(|| CliError::Usage(format!("{name}: expected a .csv or .xlsx file")))?;
    let bytes = std::fs::read(&file).map_err(|e| CliError::Failed(format!("{name}: {e}")))?;
    let store = open(&config).await?;
    let actor = Actor::cli();
    let result = if staff {
        imports::import_staff(&store, &bytes, format, &actor, &name, dry_run).await
    } else {
        imports::import_org(&store, &bytes, format, &actor, &name, dry_run).await
    };
    match result {
        Ok(c) => println!(
            "{}{name}: {} created, {} updated, {} unchanged",
            if dry_run { "dry run, nothing written: " } else { "" },
            c.created,
            c.updated,
            c.unchanged
        ),
        Err(ImportError::Invalid(errors)) => {
            eprintln!("{name}: nothing imported; {} problem(s):", errors.len());
            for e in &errors {
                eprintln!("  row {}, column {}: {}", e.row.unwrap_or(0), e.field, e.message);
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(ImportError::Store(e)) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the org tree under a node to a file or stdout.
pub(super) async fn export_command(global: &GlobalArgs, what: ExportWhat) -> Result<(), CliError> {
    let ExportWhat::Org { under, output } = what;
    let config = load_config(global, None, false)?;
    let root = OrgCode::parse(&under).map_err(|e| CliError::Usage(format!("--under: {}", e.0)))?;
    let store = open(&config).await?;
    if org::get(&store, &root).await?.is_none() {
        return Err(CliError::Usage(format!("--under: {root} is not in the org tree")));
    }
    let records = org::export(&store, &root).await?;
    let format = match &output {
        Some(p) => Format::from_path(&p.display().to_string())
            .ok_or_else(|| CliError::Usage("--output: expected a .csv or .xlsx file name".into()))?,
        None => Format::Csv,
    };
    let bytes = imports::write_table(format, "org", &imports::org_rows(&records)).map_err(CliError::Failed)?;
    match output {
        Some(p) => {
            std::fs::write(&p, bytes).map_err(|e| CliError::Failed(format!("{}: {e}", p.display())))?;
            eprintln!("{} nodes written to {}", records.len(), p.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes).map_err(|e| CliError::Failed(e.to_string()))?;
        }
    }
    Ok(())
}
