//! Telling people about changes of cases: an inbox message (and email) to the users of the role
//! a case now awaits, in scope of its unit or office, and the `case.transition` webhook event.
//! Who to tell is read first ([`Audience`]); the writes go into a [`Script`].

use std::collections::HashMap;

use super::recipients;
use crate::domain::case::State;
use crate::domain::role::Role;
use crate::store::script::Script;
use crate::store::settings_cache::{SettingsCache, missing, pick};
use crate::store::{Bind, Result, new_id, now_ms};

/// One change of a case to tell people about.
#[derive(Debug, Clone)]
pub(crate) struct Notice<'a> {
    /// The case.
    pub case_id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Who gets the inbox message (and email): unit heads of the unit or supervisors of the office.
    pub tell: Option<Role>,
    /// The state it is in now.
    pub state: State,
    /// Its unit.
    pub unit: &'a str,
    /// Its supervising office.
    pub office: &'a str,
    /// The action that made the change.
    pub action: &'a str,
}

/// Who the notices of changes reach: per role and node, the users in scope (with their email
/// addresses), and the active webhooks.
#[derive(Debug, Default)]
pub(crate) struct Audience {
    /// Per role, per node: each user and their email address.
    pub users: HashMap<Role, super::Recipients>,
    /// The active webhooks.
    pub hooks: Vec<crate::store::webhooks::Hook>,
}

impl Audience {
    /// Reads who `notices` reach on `conn`.
    pub(crate) async fn read(conn: &mut sqlx::AnyConnection, notices: &[Notice<'_>]) -> Result<Audience> {
        Audience::read_through(conn, notices, &mut SettingsCache::default()).await
    }

    /// [`Audience::read`], taking from `cache` what earlier batches read and reading the rest
    /// into it.
    pub(crate) async fn read_through(
        conn: &mut sqlx::AnyConnection,
        notices: &[Notice<'_>],
        cache: &mut SettingsCache,
    ) -> Result<Audience> {
        let mut audience = Audience::default();
        for role in [Role::UnitHead, Role::Supervisor] {
            let mut nodes: Vec<&str> =
                notices.iter().filter(|n| n.tell == Some(role)).map(|n| n.told_at(role)).collect();
            nodes.sort_unstable();
            nodes.dedup();
            if nodes.is_empty() {
                continue;
            }
            let known = cache.recipients.entry(role).or_default();
            let unknown: Vec<String> = missing(&nodes, known).into_iter().map(str::to_owned).collect();
            if !unknown.is_empty() {
                let mut found = recipients(conn, role, &unknown).await?;
                for node in unknown {
                    let users = found.remove(&node).unwrap_or_default();
                    known.insert(node, users);
                }
            }
            audience.users.insert(role, pick(&nodes, known));
        }
        if !notices.is_empty() {
            if cache.hooks.is_none() {
                cache.hooks = Some(crate::store::webhooks::active(conn).await?);
            }
            audience.hooks = cache.hooks.clone().unwrap_or_default();
        }
        Ok(audience)
    }
}

impl Notice<'_> {
    /// The node whose users in `role` are told: the office for supervisors, else the unit.
    fn told_at(&self, role: Role) -> &str {
        if role == Role::Supervisor { self.office } else { self.unit }
    }
}

/// The notices of changes: an inbox message to each user of the told role in scope, an email
/// to those with an address, and the `case.transition` webhook event of every change. Reads
/// who to tell on `conn`; the writes go into `script`, a few statements however many changes.
pub(crate) async fn notify(conn: &mut sqlx::AnyConnection, script: &mut Script, notices: &[Notice<'_>]) -> Result<()> {
    let audience = Audience::read(conn, notices).await?;
    notify_to(script, notices, &audience);
    Ok(())
}

/// [`notify`] with its audience read already.
pub(crate) fn notify_to(script: &mut Script, notices: &[Notice<'_>], audience: &Audience) {
    let now = now_ms();
    let zh = |key: String| crate::i18n::t(crate::i18n::Locale::ZhCn, &key).to_owned();
    let mut inbox = Vec::new();
    let mut emails = Vec::new();
    for n in notices {
        let Some(role) = n.tell else { continue };
        let label = zh(format!("case.state.{}", n.state.as_str()));
        let heading = format!("【{label}】{}", n.title);
        let body = format!("工单 {}：{}", n.case_id, zh(format!("case.action.{}", n.action)));
        let users = audience.users.get(&role).and_then(|u| u.get(n.told_at(role)));
        for (user, email) in users.into_iter().flatten() {
            inbox.push(vec![
                Bind::Text(new_id()),
                Bind::Text(user.clone()),
                Bind::Text("case".into()),
                Bind::Text(heading.clone()),
                Bind::Text(body.clone()),
                Bind::Text(format!("/cases/{}", n.case_id)),
                Bind::Int(now),
            ]);
            if let Some(email) = email {
                let key = format!("case:{}:{}:{user}:{now}", n.case_id, n.action);
                emails.push(crate::store::jobs::email(email, &heading, &body, Some(key)));
            }
        }
    }
    script.insert("insert into inbox (id, user_id, kind, title, body, link, created_at)", 7, &inbox, "");
    crate::store::jobs::enqueue_into(script, &emails);
    let events: Vec<serde_json::Value> = notices
        .iter()
        .map(|n| {
            serde_json::json!({"case": n.case_id, "action": n.action, "state": n.state, "unit": n.unit, "office": n.office})
        })
        .collect();
    let deliveries = crate::store::webhooks::jobs_for(&audience.hooks, "case.transition", &events);
    crate::store::jobs::enqueue_into(script, &deliveries);
}
