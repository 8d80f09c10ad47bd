//! Staff's SQL: staff under a node, and applying a staff import plan (with the node kinds and
//! staff it is checked against) in the caller's transaction, audited.

use std::collections::HashMap;

use sqlx::Row;

use crate::domain::ids::{OrgCode, StaffNo};
use crate::domain::org::{OrgKind, StaffImportPlan, StaffRecord};
use crate::store::audit::{self, Actor};
use crate::store::{Bind, Result, Store, Tx, insert_batched, now_ms, opt_text};

use super::{ImportCounts, decode_code, kind_of};

/// A staff member as read back.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Staff {
    /// City-wide staff number.
    pub staff_no: String,
    /// Unit or window code.
    pub org_code: String,
    /// Full name.
    pub name: String,
    /// Job title.
    pub position: Option<String>,
}

/// Staff attached to `code` or anywhere below it.
pub async fn staff_under(store: &Store, code: &OrgCode, limit: i64, offset: i64) -> Result<Vec<Staff>> {
    let rows = sqlx::query(
        "select s.staff_no, s.org_code, s.name, s.position from org_closure a join staff s on s.org_code = a.descendant
         where a.ancestor = $1 order by s.org_code, s.staff_no limit $2 offset $3",
    )
    .bind(code.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Staff {
                staff_no: r.try_get("staff_no")?,
                org_code: r.try_get("org_code")?,
                name: r.try_get("name")?,
                position: opt_text(r, "position")?,
            })
        })
        .collect()
}

/// The kind of every node (for planning a staff import).
pub async fn load_kinds(tx: &mut Tx) -> Result<HashMap<OrgCode, OrgKind>> {
    let rows = sqlx::query("select code, kind from org_nodes").fetch_all(&mut **tx).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(decode_code(&r.try_get::<String, _>("code")?)?, kind_of(&r.try_get::<String, _>("kind")?)?);
    }
    Ok(out)
}

/// Every stored staff member as an import record.
pub async fn load_staff(tx: &mut Tx) -> Result<HashMap<StaffNo, StaffRecord>> {
    let rows = sqlx::query("select staff_no, org_code, name, position from staff").fetch_all(&mut **tx).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let no = StaffNo::parse(&r.try_get::<String, _>("staff_no")?)
            .map_err(|e| crate::store::undecodable("staff.staff_no", e.0))?;
        let rec = StaffRecord {
            staff_no: no.clone(),
            org_code: decode_code(&r.try_get::<String, _>("org_code")?)?,
            name: r.try_get("name")?,
            position: opt_text(&r, "position")?,
        };
        out.insert(no, rec);
    }
    Ok(out)
}

/// Applies a planned staff import inside `tx`, audited when it changes something.
pub async fn apply_staff_import(
    tx: &mut Tx,
    plan: StaffImportPlan,
    actor: &Actor,
    source: &str,
) -> Result<ImportCounts> {
    let counts = ImportCounts { created: plan.create.len(), updated: plan.update.len(), unchanged: plan.unchanged };
    if counts.created + counts.updated == 0 {
        return Ok(counts);
    }
    let now = now_ms();
    let rows: Vec<Vec<Bind>> = plan
        .create
        .iter()
        .map(|s| {
            vec![
                Bind::Text(s.staff_no.as_str().to_owned()),
                Bind::Text(s.org_code.as_str().to_owned()),
                Bind::Text(s.name.clone()),
                s.position.clone().map_or(Bind::Null, Bind::Text),
                Bind::Int(now),
                Bind::Int(now),
            ]
        })
        .collect();
    insert_batched(tx, "insert into staff (staff_no, org_code, name, position, created_at, updated_at)", 6, &rows)
        .await?;
    for s in &plan.update {
        sqlx::query("update staff set org_code = $2, name = $3, position = $4, updated_at = $5 where staff_no = $1")
            .bind(s.staff_no.as_str())
            .bind(s.org_code.as_str())
            .bind(&s.name)
            .bind(&s.position)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    let summary = serde_json::json!({
        "source": source,
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
    });
    audit::append(tx, actor, "staff.import", "staff", &summary).await?;
    Ok(counts)
}
