//! `pingyi qr …`: rating codes and posters.

use super::{CliError, GlobalArgs, QrAction, load_config, open};
use crate::domain::ids::OrgCode;
use crate::store::audit::Actor;
use crate::store::org;

pub(super) async fn qr_command(global: &GlobalArgs, action: QrAction) -> Result<(), CliError> {
    use crate::store::rating_codes;
    let config = load_config(global, None, false)?;
    let store = open(&config).await?;
    let node = |code: &str| OrgCode::parse(code).map_err(|e| CliError::Usage(format!("{code}: {}", e.0)));
    match action {
        QrAction::Issue { under } => {
            let root = node(&under)?;
            let keys = rating_codes::ensure_key(&store).await?;
            let key = keys.last().ok_or_else(|| CliError::Failed("no signing key".into()))?;
            let n = rating_codes::issue_missing_codes(&store, key, &root, &Actor::cli()).await?;
            println!("{n} rating code(s) issued under {root}");
        }
        QrAction::Posters { under, paper, output } => {
            let root = node(&under)?;
            if org::get(&store, &root).await?.is_none() {
                return Err(CliError::Usage(format!("--under: {root} is not in the org tree")));
            }
            let paper = crate::qr::Paper::parse(&paper).ok_or_else(|| CliError::Usage("--paper: a5 or a4".into()))?;
            let posters = crate::web::codes::poster_list(&store, &config.public_url, &root).await?;
            let bar = indicatif::ProgressBar::new(posters.len() as u64);
            let name = output.display().to_string();
            let bytes = if name.ends_with(".zip") {
                crate::qr::posters_zip(&posters, paper, || bar.inc(1)).map_err(CliError::Failed)?
            } else if name.ends_with(".html") {
                crate::qr::posters_html(&posters, paper, || bar.inc(1)).map_err(CliError::Failed)?.into_bytes()
            } else {
                return Err(CliError::Usage("--output: a .html or .zip file".into()));
            };
            bar.finish_and_clear();
            std::fs::write(&output, bytes).map_err(|e| CliError::Failed(format!("{name}: {e}")))?;
            println!("{} poster(s) written to {name} (links start {})", posters.len(), config.public_url);
        }
        QrAction::Reissue { code } => {
            let code = node(&code)?;
            let keys = rating_codes::ensure_key(&store).await?;
            let key = keys.last().ok_or_else(|| CliError::Failed("no signing key".into()))?;
            match rating_codes::reissue_code(&store, key, code.as_str(), &Actor::cli()).await? {
                Some(c) => println!("{code}: old code revoked; new link {}/r/{}", config.public_url, c.token),
                None => {
                    return Err(CliError::Usage(format!(
                        "{code} has no live code; run `pingyi qr issue --under {code}`"
                    )));
                }
            }
        }
        QrAction::RotateKey => match rating_codes::rotate_key(&store, &Actor::cli()).await? {
            Some(k) => println!("new codes are now signed with key {k}; printed codes keep working"),
            None => return Err(CliError::Failed("all 255 signing keys are used".into())),
        },
    }
    Ok(())
}
