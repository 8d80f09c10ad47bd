//! `pingyi user …` and `pingyi token …`.

use std::io::Read;

use super::{CliError, GlobalArgs, TokenAction, UserAction, load_config, open};
use crate::domain::ids::{NewPassword, OrgCode, Username, parse_name};
use crate::domain::role::Role;
use crate::store::audit::Actor;
use crate::store::{StoreError, users};

pub(super) async fn user_command(global: &GlobalArgs, action: UserAction) -> Result<(), CliError> {
    let config = load_config(global, None, false)?;
    match action {
        UserAction::Add { name, role, scopes, display_name, email } => {
            if let Some(e) = &email
                && e.parse::<lettre::Address>().is_err()
            {
                return Err(CliError::Usage(format!("--email: {e:?} is not an email address")));
            }
            let username = Username::parse(&name).map_err(|e| CliError::Usage(format!("NAME: {}", e.0)))?;
            let role = Role::parse(&role).ok_or_else(|| {
                let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                CliError::Usage(format!("--role: {role:?} is not one of {}", all.join(", ")))
            })?;
            let scopes = scopes
                .iter()
                .map(|s| OrgCode::parse(s).map_err(|e| CliError::Usage(format!("--scope {s}: {}", e.0))))
                .collect::<Result<Vec<_>, _>>()?;
            let display_name = parse_name(display_name.as_deref().unwrap_or(username.as_str()), "display name")
                .map_err(|e| CliError::Usage(format!("--display-name: {}", e.0)))?;
            let password = read_password()?;
            let password_hash = users::hash_password(&password).map_err(CliError::Failed)?;
            let store = open(&config).await?;
            let mut tx = store.write().await?;
            let new = users::NewUser { username, display_name, role, scopes, password_hash, email };
            let user = users::create(&mut tx, &new, &Actor::cli()).await.map_err(|e| match e {
                users::CreateUserError::Store(s) => CliError::Store(s),
                other => CliError::Usage(other.to_string()),
            })?;
            tx.commit().await.map_err(StoreError::from)?;
            println!("user {} ({}) created with scope {}", user.username, user.role, scope_list(&user.scopes));
        }
        UserAction::Passwd { name } => {
            let password = read_password()?;
            let hash = users::hash_password(&password).map_err(CliError::Failed)?;
            let store = open(&config).await?;
            let (user, _) = users::by_username(&store, &name.to_ascii_lowercase())
                .await?
                .ok_or_else(|| CliError::Usage(format!("no user named {name}")))?;
            let mut tx = store.write().await?;
            let changed = users::set_password(&mut tx, &user, &hash, &Actor::cli()).await?;
            tx.commit().await.map_err(StoreError::from)?;
            println!(
                "password of {} changed; {} session(s) ended and {} API token(s) revoked",
                user.username, changed.sessions_ended, changed.tokens_revoked
            );
        }
        UserAction::List => {
            let store = open(&config).await?;
            for u in users::list(&store).await? {
                let state = if u.disabled { " (disabled)" } else { "" };
                println!(
                    "{:<16} {:<11} {:<24} {}{state}",
                    u.username,
                    u.role.as_str(),
                    scope_list(&u.scopes),
                    u.display_name
                );
            }
        }
    }
    Ok(())
}

pub(super) async fn token_command(global: &GlobalArgs, action: TokenAction) -> Result<(), CliError> {
    let config = load_config(global, None, false)?;
    let store = open(&config).await?;
    match action {
        TokenAction::Create { user, name } => {
            let (u, _) = users::by_username(&store, &user.to_ascii_lowercase())
                .await?
                .ok_or_else(|| CliError::Usage(format!("--user: no user named {user}")))?;
            let name = parse_name(&name, "name").map_err(|e| CliError::Usage(format!("--name: {}", e.0)))?;
            let mut tx = store.write().await?;
            let (id, token) = users::create_token(&mut tx, &u, &name, &Actor::cli()).await?;
            tx.commit().await.map_err(StoreError::from)?;
            eprintln!("token {id} created for {}; it is shown only once:", u.username);
            println!("{token}");
        }
        TokenAction::List { user } => {
            for t in users::list_tokens(&store, user.as_deref()).await? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "live" };
                println!("{}  {:<16} {:<7} {}", t.id, t.username, state, t.name);
            }
        }
        TokenAction::Revoke { id } => {
            let mut tx = store.write().await?;
            if !users::revoke_token(&mut tx, &id, &Actor::cli()).await? {
                return Err(CliError::Usage(format!("no live token with id {id}")));
            }
            tx.commit().await.map_err(StoreError::from)?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

fn scope_list(scopes: &[OrgCode]) -> String {
    scopes.iter().map(OrgCode::as_str).collect::<Vec<_>>().join(",")
}

fn read_password() -> Result<NewPassword, CliError> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| CliError::Failed(format!("reading standard input: {e}")))?;
    let line = input.lines().next().unwrap_or_default();
    NewPassword::parse(line).map_err(|e| CliError::Usage(format!("password: {}", e.0)))
}
