//! `pingyi calendar day|add` (no database needed) and `pingyi calendar import`.

use std::path::Path;
use std::process::ExitCode;

use super::{CalendarAction, CliError, GlobalArgs, load_config, open};
use crate::store::audit::Actor;

pub(super) fn calendar_command(action: CalendarAction) -> Result<(), CliError> {
    use crate::domain::calendar::cst;
    let cal = crate::calendar_data::load();
    match action {
        CalendarAction::Day { date } => {
            let d = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|_| CliError::Usage("DATE: YYYY-MM-DD".into()))?;
            let info = cal.day(d).map_err(|e| CliError::Usage(e.to_string()))?;
            let kind =
                serde_json::to_value(info.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            println!(
                "{d} {kind}{}{}",
                info.name.map(|n| format!(" ({n})")).unwrap_or_default(),
                if info.provisional { " [provisional]" } else { "" }
            );
        }
        CalendarAction::Import { .. } => return Err(CliError::Usage("import needs the database".into())),
        CalendarAction::Add { start, n } => {
            let t = match chrono::DateTime::parse_from_rfc3339(&start) {
                Ok(t) => t,
                Err(_) => {
                    let d = chrono::NaiveDate::parse_from_str(&start, "%Y-%m-%d")
                        .map_err(|_| CliError::Usage("START: RFC 3339 or YYYY-MM-DD".into()))?;
                    use chrono::TimeZone;
                    cst()
                        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                        .single()
                        .ok_or_else(|| CliError::Usage("START: not a valid time".into()))?
                }
            };
            let due = cal.working_days_deadline(t, n).map_err(|e| CliError::Usage(e.to_string()))?;
            let provisional = cal.any_provisional(t.with_timezone(&cst()).date_naive(), due.date_naive());
            println!("{}{}", due.to_rfc3339(), if provisional { " [provisional]" } else { "" });
        }
    }
    Ok(())
}

/// Imports official calendar years from a TOML file and recomputes the open clocks on
/// provisional days.
pub(super) async fn import_command(global: &GlobalArgs, file: &Path) -> Result<ExitCode, CliError> {
    let config = load_config(global, None, false)?;
    let text = std::fs::read_to_string(file).map_err(|e| CliError::Failed(format!("{}: {e}", file.display())))?;
    #[derive(serde::Deserialize)]
    struct Years {
        year: Vec<crate::domain::calendar::YearNotice>,
    }
    let years: Years = toml::from_str(&text).map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
    for y in &years.year {
        if let Err(errors) = y.validate() {
            for e in errors {
                eprintln!("{}: year {}: {}: {}", file.display(), y.year, e.field, e.message);
            }
            return Ok(ExitCode::FAILURE);
        }
    }
    let store = open(&config).await?;
    for y in &years.year {
        crate::store::calendar::import_year(&store, y, &Actor::cli()).await?;
    }
    let handle = crate::calendar_data::CalendarHandle::new(crate::calendar_data::load());
    let cal = handle.reload(&store).await?;
    let n = crate::store::calendar::recompute_provisional_clocks(
        &store,
        &cal,
        &crate::domain::sla::Thresholds::default(),
        &Actor::cli(),
    )
    .await?;
    println!("{} year(s) imported; calendar {}; {n} open clock(s) recomputed", years.year.len(), cal.version());
    Ok(ExitCode::SUCCESS)
}
