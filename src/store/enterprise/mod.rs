//! Firms and where they sit: parks (an org node with its desk's promises), industrial chains,
//! firms by their credit code, and which users belong to which firm. Projects, their channels
//! and desk requests are in the submodules; who sees which of them is [`Viewer`], the one rule.

pub mod channel;
pub mod conduct;
pub mod desk;
pub mod projects;

use sqlx::Row;

use crate::domain::enterprise::Uscc;
use crate::domain::enterprise::desk::DeskSettings;
use crate::domain::ids::OrgCode;
use crate::domain::role::Role;
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, StoreError, Tx, new_id, now_ms, opt_text};

/// A park: the org node of its management committee and its desk's promises.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Park {
    /// The management committee's org code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The desk's promises.
    pub settings: DeskSettings,
}

/// Parks, by name.
pub async fn parks(store: &Store) -> Result<Vec<Park>> {
    let rows = sqlx::query(
        "select p.*, n.name from parks p join org_nodes n on n.code = p.org_code order by n.name, p.org_code",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(park_from).collect()
}

fn park_from(r: &sqlx::any::AnyRow) -> Result<Park> {
    let n = |c: &str| -> Result<u32> { Ok(u32::try_from(r.try_get::<i64, _>(c)?).unwrap_or(0)) };
    Ok(Park {
        code: r.try_get("org_code")?,
        name: r.try_get("name")?,
        settings: DeskSettings {
            reply_minutes: n("reply_minutes")?,
            solution_days: n("solution_days")?,
            handover_days: n("handover_days")?,
            open_minute: n("open_minute")?,
            close_minute: n("close_minute")?,
            working_days_only: r.try_get::<i64, _>("working_days_only")? != 0,
        },
    })
}

/// The desk settings of park `code` (the defaults when it has none).
pub async fn desk_settings(conn: &mut sqlx::AnyConnection, code: &str) -> Result<DeskSettings> {
    let row =
        sqlx::query("select p.*, n.name from parks p join org_nodes n on n.code = p.org_code where p.org_code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|r| park_from(&r)).transpose()?.map(|p| p.settings).unwrap_or_default())
}

/// Makes org node `code` a park, or changes its promises; audited. `None` when the node does
/// not exist.
pub async fn set_park(store: &Store, code: &str, s: &DeskSettings, actor: &Actor) -> Result<Option<Park>> {
    let mut tx = store.write().await?;
    let exists: Option<String> =
        sqlx::query_scalar("select code from org_nodes where code = $1").bind(code).fetch_optional(&mut *tx).await?;
    if exists.is_none() {
        return Ok(None);
    }
    let updated = sqlx::query(
        "update parks set reply_minutes = $2, solution_days = $3, handover_days = $4, open_minute = $5, close_minute = $6,
            working_days_only = $7, updated_at = $8 where org_code = $1",
    )
    .bind(code)
    .bind(i64::from(s.reply_minutes))
    .bind(i64::from(s.solution_days))
    .bind(i64::from(s.handover_days))
    .bind(i64::from(s.open_minute))
    .bind(i64::from(s.close_minute))
    .bind(i64::from(s.working_days_only))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "insert into parks (org_code, reply_minutes, solution_days, handover_days, open_minute, close_minute, working_days_only, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(code)
        .bind(i64::from(s.reply_minutes))
        .bind(i64::from(s.solution_days))
        .bind(i64::from(s.handover_days))
        .bind(i64::from(s.open_minute))
        .bind(i64::from(s.close_minute))
        .bind(i64::from(s.working_days_only))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    }
    audit::append(&mut tx, actor, "park.set", &format!("park:{code}"), &serde_json::json!(s)).await?;
    tx.commit().await?;
    Ok(parks(store).await?.into_iter().find(|p| p.code == code))
}

/// An industrial chain (链长制).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Chain {
    /// Id.
    pub id: String,
    /// Name (新能源产业链).
    pub name: String,
    /// 链长: the city leader in charge.
    pub leader: String,
    /// The unit that runs its task force, if named.
    pub unit_code: Option<String>,
    /// What the chain is.
    pub description: String,
}

/// Chains, by name.
pub async fn chains(store: &Store) -> Result<Vec<Chain>> {
    let rows = sqlx::query("select * from chains order by name").fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Chain {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                leader: r.try_get("leader")?,
                unit_code: opt_text(r, "unit_code")?,
                description: r.try_get("description")?,
            })
        })
        .collect()
}

/// Creates a chain; `None` when the name is taken.
pub async fn create_chain(
    store: &Store,
    name: &str,
    leader: &str,
    unit: Option<&str>,
    description: &str,
    actor: &Actor,
) -> Result<Option<Chain>> {
    let mut tx = store.write().await?;
    let taken: Option<String> =
        sqlx::query_scalar("select id from chains where name = $1").bind(name).fetch_optional(&mut *tx).await?;
    if taken.is_some() {
        return Ok(None);
    }
    let chain = Chain {
        id: new_id(),
        name: name.to_owned(),
        leader: leader.to_owned(),
        unit_code: unit.map(str::to_owned),
        description: description.to_owned(),
    };
    sqlx::query(
        "insert into chains (id, name, leader, unit_code, description, created_at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&chain.id)
    .bind(name)
    .bind(leader)
    .bind(unit)
    .bind(description)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    audit::append(&mut tx, actor, "chain.create", &format!("chain:{}", chain.id), &serde_json::json!({"name": name}))
        .await?;
    tx.commit().await?;
    Ok(Some(chain))
}

/// A firm.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Enterprise {
    /// Id.
    pub id: String,
    /// Its unified social credit code.
    pub uscc: String,
    /// Registered name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// The park it sits in, if any.
    pub park_code: Option<String>,
    /// `large`, `medium`, `small` or `micro`.
    pub size: String,
    /// The chain it belongs to, if any.
    pub chain_id: Option<String>,
    /// `lead` (链主), `member` or `target`.
    pub chain_role: Option<String>,
    /// Who to call there.
    pub contact: String,
}

/// A firm to register (validated at the edge).
#[derive(Debug, Clone)]
pub struct NewEnterprise {
    /// Its credit code.
    pub uscc: Uscc,
    /// Registered name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// Park (an existing park's code).
    pub park_code: Option<String>,
    /// Size.
    pub size: String,
    /// Chain id.
    pub chain_id: Option<String>,
    /// Role in the chain.
    pub chain_role: Option<String>,
    /// Contact.
    pub contact: String,
}

/// Why a firm was not registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// Another firm has this code.
    #[error("a firm with this unified social credit code is registered already")]
    Taken,
    /// The park or the chain named does not exist.
    #[error("{0} names nothing")]
    Unknown(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RegisterError {
    fn from(e: sqlx::Error) -> Self {
        RegisterError::Store(e.into())
    }
}

/// Registers a firm; audited.
pub async fn register(store: &Store, new: &NewEnterprise, actor: &Actor) -> Result<Enterprise, RegisterError> {
    let mut tx = store.write().await?;
    let firm = register_in(&mut tx, new, actor).await?;
    tx.commit().await?;
    Ok(firm)
}

/// [`register`] inside the caller's transaction (an import registers many).
pub async fn register_in(tx: &mut Tx, new: &NewEnterprise, actor: &Actor) -> Result<Enterprise, RegisterError> {
    let taken: Option<String> = sqlx::query_scalar("select id from enterprises where uscc = $1")
        .bind(new.uscc.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(RegisterError::Taken);
    }
    if let Some(park) = &new.park_code {
        let found: Option<String> = sqlx::query_scalar("select org_code from parks where org_code = $1")
            .bind(park)
            .fetch_optional(&mut **tx)
            .await?;
        found.ok_or(RegisterError::Unknown("park_code"))?;
    }
    if let Some(chain) = &new.chain_id {
        let found: Option<String> =
            sqlx::query_scalar("select id from chains where id = $1").bind(chain).fetch_optional(&mut **tx).await?;
        found.ok_or(RegisterError::Unknown("chain_id"))?;
    }
    let firm = Enterprise {
        id: new_id(),
        uscc: new.uscc.as_str().to_owned(),
        name: new.name.clone(),
        industry: new.industry.clone(),
        park_code: new.park_code.clone(),
        size: new.size.clone(),
        chain_id: new.chain_id.clone(),
        chain_role: new.chain_role.clone(),
        contact: new.contact.clone(),
    };
    sqlx::query(
        "insert into enterprises (id, uscc, name, industry, park_code, size, chain_id, chain_role, contact, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&firm.id)
    .bind(&firm.uscc)
    .bind(&firm.name)
    .bind(&firm.industry)
    .bind(&firm.park_code)
    .bind(&firm.size)
    .bind(&firm.chain_id)
    .bind(&firm.chain_role)
    .bind(&firm.contact)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    audit::append(
        tx,
        actor,
        "enterprise.register",
        &format!("enterprise:{}", firm.id),
        &serde_json::json!({"uscc": firm.uscc, "name": firm.name}),
    )
    .await?;
    Ok(firm)
}

fn firm_from(r: &sqlx::any::AnyRow) -> Result<Enterprise> {
    Ok(Enterprise {
        id: r.try_get("id")?,
        uscc: r.try_get("uscc")?,
        name: r.try_get("name")?,
        industry: r.try_get("industry")?,
        park_code: opt_text(r, "park_code")?,
        size: r.try_get("size")?,
        chain_id: opt_text(r, "chain_id")?,
        chain_role: opt_text(r, "chain_role")?,
        contact: r.try_get("contact")?,
    })
}

/// Firms, by name; a firm's user sees its own only.
pub async fn enterprises(store: &Store, viewer: &Viewer<'_>) -> Result<Vec<Enterprise>> {
    let rows = match viewer.firm() {
        Some(firm) => sqlx::query("select * from enterprises where id = $1").bind(firm).fetch_all(store.pool()).await?,
        None => sqlx::query("select * from enterprises order by name").fetch_all(store.pool()).await?,
    };
    rows.iter().map(firm_from).collect()
}

/// A firm by its credit code.
pub async fn by_uscc(store: &Store, uscc: &str) -> Result<Option<Enterprise>> {
    let row = sqlx::query("select * from enterprises where uscc = $1").bind(uscc).fetch_optional(store.pool()).await?;
    row.as_ref().map(firm_from).transpose()
}

/// A firm by id.
pub async fn enterprise(store: &Store, id: &str) -> Result<Option<Enterprise>> {
    let row = sqlx::query("select * from enterprises where id = $1").bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(firm_from).transpose()
}

/// Makes enterprise user `user` (by login name) one of firm `firm`'s users; audited. `Ok(false)`
/// when there is no such enterprise user.
pub async fn add_user(store: &Store, firm: &str, user: &str, actor: &Actor) -> Result<bool> {
    let mut tx = store.write().await?;
    let id: Option<String> = sqlx::query_scalar("select id from users where username = $1 and role = 'enterprise'")
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(id) = id else { return Ok(false) };
    sqlx::query("delete from enterprise_users where user_id = $1").bind(&id).execute(&mut *tx).await?;
    sqlx::query("insert into enterprise_users (user_id, enterprise_id) values ($1, $2)")
        .bind(&id)
        .bind(firm)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        "enterprise.add_user",
        &format!("enterprise:{firm}"),
        &serde_json::json!({"user": user}),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The firm user `user_id` belongs to, if any.
pub async fn firm_of(store: &Store, user_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("select enterprise_id from enterprise_users where user_id = $1")
        .bind(user_id)
        .fetch_optional(store.pool())
        .await?)
}

/// Who is looking at projects, requests and channels, and so which they see: a firm's user sees
/// its own firm's only (none before it is bound to a firm); everyone else the projects whose
/// unit or park lies within their scopes, and the projects they manage (项目管家).
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// A firm's user: the firm's id, if bound to one.
    Firm(Option<&'a str>),
    /// Staff: their user id and their scopes.
    Staff {
        /// Their user id.
        user: &'a str,
        /// Their scopes.
        scopes: &'a [OrgCode],
    },
}

impl<'a> Viewer<'a> {
    /// The firm, for a firm's user.
    pub fn firm(&self) -> Option<&'a str> {
        match self {
            Viewer::Firm(f) => *f,
            Viewer::Staff { .. } => None,
        }
    }

    /// The viewer of `role`: a firm's user or staff.
    pub fn of(role: Role, user: &'a str, scopes: &'a [OrgCode], firm: Option<&'a str>) -> Viewer<'a> {
        if role == Role::Enterprise { Viewer::Firm(firm) } else { Viewer::Staff { user, scopes } }
    }

    /// The condition on `projects p` for this viewer, binding what it needs after `binds`.
    pub(crate) fn clause(&self, binds: &mut Vec<crate::store::Bind>) -> String {
        use crate::store::Bind;
        match self {
            Viewer::Firm(None) => "1 = 0".into(),
            Viewer::Firm(Some(firm)) => {
                binds.push(Bind::Text((*firm).to_owned()));
                format!(
                    "exists (select 1 from project_firms f where f.project_id = p.id and f.enterprise_id = ${})",
                    binds.len()
                )
            }
            Viewer::Staff { user, scopes } => {
                binds.push(Bind::Text((*user).to_owned()));
                let me = binds.len();
                let list: Vec<String> = scopes
                    .iter()
                    .map(|s| {
                        binds.push(Bind::Text(s.as_str().to_owned()));
                        format!("${}", binds.len())
                    })
                    .collect();
                if list.is_empty() {
                    return format!("p.manager = ${me}");
                }
                let list = list.join(", ");
                format!(
                    "(p.manager = ${me}
                      or exists (select 1 from org_closure a where a.descendant = p.unit_code and a.ancestor in ({list}))
                      or exists (select 1 from org_closure a where a.descendant = p.park_code and a.ancestor in ({list})))"
                )
            }
        }
    }
}
