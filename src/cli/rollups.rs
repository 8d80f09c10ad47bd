//! `pingyi rollups check|rebuild`: the rating rollups against the raw ratings.

use std::process::ExitCode;

use super::{CliError, GlobalArgs, RollupsAction, load_config, open};

/// Rows of each side of a difference printed at most.
const SHOWN: usize = 20;

pub(super) async fn rollups_command(global: &GlobalArgs, action: RollupsAction) -> Result<ExitCode, CliError> {
    let config = load_config(global, None, false)?;
    let store = open(&config).await?;
    let apply = matches!(action, RollupsAction::Rebuild);
    let drift = crate::store::rollups::rebuild_ratings(&store, apply).await?;
    for (sign, rows) in [("-", &drift.stored_only), ("+", &drift.recomputed_only)] {
        for row in rows.iter().take(SHOWN) {
            println!("{sign} {row}");
        }
        if rows.len() > SHOWN {
            println!("{sign} … and {} more", rows.len() - SHOWN);
        }
    }
    let (stored, recomputed) = (drift.stored_only.len(), drift.recomputed_only.len());
    match (apply, drift.is_empty()) {
        (_, true) => println!("rating rollups match the raw ratings"),
        (true, false) => println!("rating rollups rebuilt: {stored} stored row(s) replaced by {recomputed} recomputed"),
        (false, false) => {
            eprintln!(
                "rating rollups DIFFER from the raw ratings: {stored} stored row(s) (-) against {recomputed} recomputed (+); `pingyi rollups rebuild` repairs them"
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
