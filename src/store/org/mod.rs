//! The org tree's SQL: nodes, the closure table that makes subtree and scope checks indexed
//! look-ups, and applying an import plan in one transaction; staff are in `staff`.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, Actor};
use super::{Bind, Result, Store, Tx, bind_all, insert_batched, now_ms, opt_text};
use crate::domain::ids::OrgCode;
use crate::domain::org::{OrgImportPlan, OrgKind, OrgRecord};

mod staff;

pub use staff::{Staff, apply_staff_import, load_kinds, load_staff, staff_under};

/// An org node as read back, with its depth and number of children.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OrgNode {
    /// Stable code.
    pub code: String,
    /// Parent's code (absent for a root).
    pub parent_code: Option<String>,
    /// region, department, unit or window.
    pub kind: OrgKind,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Distance from the root (a root is 0).
    pub depth: i64,
    /// Number of direct children.
    pub children: i64,
}

const NODE_COLUMNS: &str = "n.code, n.parent_code, n.kind, n.name, n.name_en, n.address, n.depth, \
     (select cast(count(*) as bigint) from org_nodes c where c.parent_code = n.code) as children";

fn kind_of(s: &str) -> Result<OrgKind> {
    OrgKind::parse(s).ok_or_else(|| super::undecodable("org_nodes.kind", format!("{s:?}")))
}

fn node_from_row(r: &AnyRow) -> Result<OrgNode> {
    Ok(OrgNode {
        code: r.try_get("code")?,
        parent_code: opt_text(r, "parent_code")?,
        kind: kind_of(&r.try_get::<String, _>("kind")?)?,
        name: r.try_get("name")?,
        name_en: opt_text(r, "name_en")?,
        address: opt_text(r, "address")?,
        depth: r.try_get("depth")?,
        children: r.try_get("children")?,
    })
}

/// One node by code.
pub async fn get(store: &Store, code: &OrgCode) -> Result<Option<OrgNode>> {
    let sql = format!("select {NODE_COLUMNS} from org_nodes n where n.code = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(code.as_str()).fetch_optional(store.pool()).await?;
    row.as_ref().map(node_from_row).transpose()
}

/// Several nodes by code, in the order of `codes` (missing ones are skipped).
pub async fn get_many(store: &Store, codes: &[OrgCode]) -> Result<Vec<OrgNode>> {
    let mut out = Vec::with_capacity(codes.len());
    for c in codes {
        if let Some(n) = get(store, c).await? {
            out.push(n);
        }
    }
    Ok(out)
}

/// The path from the root down to `code`, inclusive.
pub async fn ancestors(store: &Store, code: &OrgCode) -> Result<Vec<OrgNode>> {
    let sql = format!(
        "select {NODE_COLUMNS} from org_closure a join org_nodes n on n.code = a.ancestor
         where a.descendant = $1 order by a.distance desc"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(code.as_str()).fetch_all(store.pool()).await?;
    rows.iter().map(node_from_row).collect()
}

/// Direct children of `code`, by code.
pub async fn children(store: &Store, code: &OrgCode, limit: i64, offset: i64) -> Result<Vec<OrgNode>> {
    let sql =
        format!("select {NODE_COLUMNS} from org_nodes n where n.parent_code = $1 order by n.code limit $2 offset $3");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(node_from_row).collect()
}

/// Search within the subtree of `root`: optional kind and name/code text; parents first.
pub async fn search_subtree(
    store: &Store,
    root: &OrgCode,
    kind: Option<OrgKind>,
    text: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OrgNode>, i64)> {
    let mut where_sql = String::from("a.ancestor = $1");
    let mut binds = vec![Bind::Text(root.as_str().to_owned())];
    if let Some(k) = kind {
        binds.push(Bind::Text(k.as_str().to_owned()));
        where_sql.push_str(&format!(" and n.kind = ${}", binds.len()));
    }
    if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
        binds.push(Bind::Text(format!("%{}%", t.replace('%', ""))));
        let n = binds.len();
        where_sql.push_str(&format!(" and (lower(n.name) like lower(${n}) or lower(n.code) like lower(${n}))"));
    }
    let count_sql = format!(
        "select cast(count(*) as bigint) from org_closure a join org_nodes n on n.code = a.descendant where {where_sql}"
    );
    let total: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(count_sql)), binds.clone())
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    let n = binds.len();
    let sql = format!(
        "select {NODE_COLUMNS} from org_closure a join org_nodes n on n.code = a.descendant
         where {where_sql} order by a.distance, n.code limit ${} offset ${}",
        n + 1,
        n + 2
    );
    binds.push(Bind::Int(limit));
    binds.push(Bind::Int(offset));
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    Ok((rows.iter().map(node_from_row).collect::<Result<_>>()?, total))
}

/// Whether `code` lies in one of the subtrees rooted at `scopes`.
pub async fn within(store: &Store, code: &OrgCode, scopes: &[OrgCode]) -> Result<bool> {
    if scopes.is_empty() {
        return Ok(false);
    }
    let placeholders: Vec<String> = (0..scopes.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "select cast(count(*) as bigint) from org_closure where descendant = $1 and ancestor in ({})",
        placeholders.join(",")
    );
    let binds = std::iter::once(Bind::Text(code.as_str().to_owned()))
        .chain(scopes.iter().map(|s| Bind::Text(s.as_str().to_owned())));
    let n: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_one(store.pool()).await?.try_get(0)?;
    Ok(n > 0)
}

/// Number of nodes of each kind within the subtree of `root`.
pub async fn count_by_kind(store: &Store, root: &OrgCode) -> Result<HashMap<OrgKind, i64>> {
    let rows = sqlx::query(
        "select n.kind, cast(count(*) as bigint) as n from org_closure a join org_nodes n on n.code = a.descendant
         where a.ancestor = $1 group by n.kind",
    )
    .bind(root.as_str())
    .fetch_all(store.pool())
    .await?;
    let mut out = HashMap::new();
    for r in rows {
        out.insert(kind_of(&r.try_get::<String, _>("kind")?)?, r.try_get("n")?);
    }
    Ok(out)
}

/// Every stored node as an import record (for planning an import).
pub async fn load_tree(tx: &mut Tx) -> Result<HashMap<OrgCode, OrgRecord>> {
    let rows = sqlx::query("select code, parent_code, kind, name, name_en, address from org_nodes")
        .fetch_all(&mut **tx)
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let rec = record_from_row(&r)?;
        out.insert(rec.code.clone(), rec);
    }
    Ok(out)
}

fn decode_code(s: &str) -> Result<OrgCode> {
    OrgCode::parse(s).map_err(|e| super::undecodable("org_nodes.code", e.0))
}

fn record_from_row(r: &AnyRow) -> Result<OrgRecord> {
    Ok(OrgRecord {
        code: decode_code(&r.try_get::<String, _>("code")?)?,
        parent: opt_text(r, "parent_code")?.as_deref().map(decode_code).transpose()?,
        kind: kind_of(&r.try_get::<String, _>("kind")?)?,
        name: r.try_get("name")?,
        name_en: opt_text(r, "name_en")?,
        address: opt_text(r, "address")?,
    })
}

/// The subtree of `root` as import records, parents before children (re-importable as is).
pub async fn export(store: &Store, root: &OrgCode) -> Result<Vec<OrgRecord>> {
    let rows = sqlx::query(
        "select n.code, n.parent_code, n.kind, n.name, n.name_en, n.address
         from org_closure a join org_nodes n on n.code = a.descendant
         where a.ancestor = $1 order by n.depth, n.code",
    )
    .bind(root.as_str())
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(record_from_row).collect()
}

/// Counts of what an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportCounts {
    /// Records created.
    pub created: usize,
    /// Records changed.
    pub updated: usize,
    /// Records already as in the file.
    pub unchanged: usize,
}

/// Applies a planned org import inside `tx` and records it in the audit trail (only when it
/// changes something, so importing the same file again leaves no trace).
pub async fn apply_import(
    tx: &mut Tx,
    existing: &HashMap<OrgCode, OrgRecord>,
    plan: OrgImportPlan,
    actor: &Actor,
    source: &str,
) -> Result<ImportCounts> {
    let counts = ImportCounts { created: plan.create.len(), updated: plan.update.len(), unchanged: plan.unchanged };
    if counts.created + counts.updated == 0 {
        return Ok(counts);
    }
    let now = now_ms();
    // The final parent map, to compute depths and closure rows in memory.
    let mut parents: HashMap<OrgCode, Option<OrgCode>> =
        existing.iter().map(|(c, r)| (c.clone(), r.parent.clone())).collect();
    for r in plan.create.iter().chain(&plan.update) {
        parents.insert(r.code.clone(), r.parent.clone());
    }
    let chain = |code: &OrgCode| -> Vec<OrgCode> {
        let mut out = vec![code.clone()];
        let mut at = parents.get(code).cloned().flatten();
        while let Some(p) = at {
            at = parents.get(&p).cloned().flatten();
            out.push(p);
        }
        out
    };

    let node_rows: Vec<Vec<Bind>> = plan
        .create
        .iter()
        .map(|r| {
            vec![
                Bind::Text(r.code.as_str().to_owned()),
                r.parent.as_ref().map_or(Bind::Null, |p| Bind::Text(p.as_str().to_owned())),
                Bind::Text(r.kind.as_str().to_owned()),
                Bind::Text(r.name.clone()),
                r.name_en.clone().map_or(Bind::Null, Bind::Text),
                r.address.clone().map_or(Bind::Null, Bind::Text),
                Bind::Int(chain(&r.code).len() as i64 - 1),
                Bind::Int(now),
                Bind::Int(now),
            ]
        })
        .collect();
    insert_batched(
        tx,
        "insert into org_nodes (code, parent_code, kind, name, name_en, address, depth, created_at, updated_at)",
        9,
        &node_rows,
    )
    .await?;

    for r in &plan.update {
        sqlx::query(
            "update org_nodes set parent_code = $2, kind = $3, name = $4, name_en = $5, address = $6, updated_at = $7
             where code = $1",
        )
        .bind(r.code.as_str())
        .bind(r.parent.as_ref().map(|p| p.as_str().to_owned()))
        .bind(r.kind.as_str())
        .bind(&r.name)
        .bind(&r.name_en)
        .bind(&r.address)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }

    // Closure rows: for new nodes only, unless a node moved; then the whole table is rebuilt
    // (and every depth refreshed) from the final parent map.
    let closure_for: Vec<&OrgCode> =
        if plan.moves { parents.keys().collect() } else { plan.create.iter().map(|r| &r.code).collect() };
    if plan.moves {
        sqlx::query("delete from org_closure").execute(&mut **tx).await?;
        for code in parents.keys() {
            sqlx::query("update org_nodes set depth = $2 where code = $1 and depth <> $2")
                .bind(code.as_str())
                .bind(chain(code).len() as i64 - 1)
                .execute(&mut **tx)
                .await?;
        }
    }
    let mut closure_rows = Vec::new();
    for code in closure_for {
        for (distance, anc) in chain(code).into_iter().enumerate() {
            closure_rows.push(vec![
                Bind::Text(anc.as_str().to_owned()),
                Bind::Text(code.as_str().to_owned()),
                Bind::Int(distance as i64),
            ]);
        }
    }
    insert_batched(tx, "insert into org_closure (ancestor, descendant, distance)", 3, &closure_rows).await?;

    let summary = serde_json::json!({
        "source": source,
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "moved": plan.moves,
        "created_codes": plan.create.iter().take(50).map(|r| r.code.as_str()).collect::<Vec<_>>(),
        "changes": plan.update.iter().take(50).map(|r| serde_json::json!({
            "code": r.code.as_str(),
            "before": existing.get(&r.code).map(record_json),
            "after": record_json(r),
        })).collect::<Vec<_>>(),
    });
    audit::append(tx, actor, "org.import", "org", &summary).await?;
    Ok(counts)
}

fn record_json(r: &OrgRecord) -> serde_json::Value {
    serde_json::json!({
        "parent_code": r.parent.as_ref().map(OrgCode::as_str),
        "kind": r.kind.as_str(),
        "name": r.name,
        "name_en": r.name_en,
        "address": r.address,
    })
}

/// The tree's top nodes (the city), by code.
pub async fn roots(store: &Store) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("select code from org_nodes where parent_code is null order by code")
        .fetch_all(store.pool())
        .await?)
}

/// The names of every node under `root` (itself included), by code: one query, for exports.
pub async fn names_under(store: &Store, root: &OrgCode) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select n.code, n.name from org_closure a join org_nodes n on n.code = a.descendant where a.ancestor = $1",
    )
    .bind(root.as_str())
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

/// The node a staff member belongs to.
pub async fn node_of_staff(store: &Store, staff_no: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("select org_code from staff where staff_no = $1")
        .bind(staff_no)
        .fetch_optional(store.pool())
        .await?)
}
