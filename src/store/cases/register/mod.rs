//! What a case leaves behind: numbered documents (rectification orders, feedback sheets), the
//! accountability register. (Evidence files are the workflow executor's, kept where
//! `apply::TABLES.files()` says.)

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Case;
use super::apply::{ApplyError, Details};
use crate::domain::FieldError;
use crate::domain::case::Accountability;
use crate::domain::ids::OrgCode;
use crate::store::audit::Actor;
use crate::store::{Bind, Result, Store, Tx, bind_all, new_id, opt_text};

pub use crate::store::workflow::{Attachment, path_of, sniff};

/// A numbered document.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Document {
    /// Id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// `order` (责令整改通知书) or `feedback` (问题反馈单).
    pub kind: String,
    /// The issuing office.
    pub office_code: String,
    /// Its name.
    pub office_name: String,
    /// Year of issue.
    pub year: i64,
    /// Serial number within the office, kind and year.
    pub serial: i64,
    /// The printed number, e.g. `城东区督整〔2026〕3号`.
    pub number: String,
    /// What it says.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// Issued, ms.
    pub created_at: i64,
}

fn document_from(r: &AnyRow) -> Result<Document> {
    Ok(Document {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        kind: r.try_get("kind")?,
        office_code: r.try_get("office_code")?,
        office_name: r.try_get("office_name")?,
        year: r.try_get("year")?,
        serial: r.try_get("serial")?,
        number: r.try_get("number")?,
        body: crate::store::decode_json(&r.try_get::<String, _>("body")?, "documents.body")?,
        created_at: r.try_get("created_at")?,
    })
}

const DOCUMENT_COLUMNS: &str =
    "d.id, d.case_id, d.kind, d.office_code, o.name as office_name, d.year, d.serial, d.number, d.body, d.created_at
     from case_documents d join org_nodes o on o.code = d.office_code";

/// A case's documents, in order of issue.
pub async fn documents(store: &Store, case_id: &str) -> Result<Vec<Document>> {
    let sql = format!("select {DOCUMENT_COLUMNS} where d.case_id = $1 order by d.created_at, d.serial");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(case_id).fetch_all(store.pool()).await?;
    rows.iter().map(document_from).collect()
}

/// One document.
pub async fn document(store: &Store, id: &str) -> Result<Option<Document>> {
    let sql = format!("select {DOCUMENT_COLUMNS} where d.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(document_from).transpose()
}

/// Records an accountability decision inside `tx`: one row per person named (staff by number,
/// who must belong to the case's unit; the unit head by name), or one row saying nobody.
/// Returns how many people were held to account.
pub(crate) async fn record_decision(
    tx: &mut Tx,
    case: &Case,
    event: &str,
    kind: Accountability,
    d: &Details,
    actor: &Actor,
    now: i64,
) -> Result<i64, ApplyError> {
    let mut people: Vec<(&str, Option<String>, Option<String>, String)> = Vec::new();
    let mut errors = Vec::new();
    for no in &d.staff {
        let row = sqlx::query(
            "select s.name, s.org_code from staff s join org_closure a on a.descendant = s.org_code
             where s.staff_no = $1 and a.ancestor = $2",
        )
        .bind(no)
        .bind(&case.unit_code)
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            Some(r) => people.push(("staff", Some(r.try_get("name")?), Some(no.clone()), r.try_get("org_code")?)),
            None => errors.push(FieldError::new("staff", format!("{no} is not a staff member of {}", case.unit_name))),
        }
    }
    if let Some(head) = &d.unit_head {
        people.push(("unit_head", Some(head.clone()), None, case.unit_code.clone()));
    }
    if kind == Accountability::None && !people.is_empty() {
        errors.push(FieldError::new("staff", "a decision of no accountability names nobody"));
    }
    if kind != Accountability::None && people.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("staff", "name at least one staff member or the unit head"));
    }
    if !errors.is_empty() {
        return Err(ApplyError::Invalid(errors));
    }
    let held = if kind == Accountability::None { 0 } else { i64::try_from(people.len()).unwrap_or(0) };
    if people.is_empty() {
        people.push(("none", None, None, case.unit_code.clone()));
    }
    for (subject, name, staff_no, unit) in people {
        sqlx::query(
            "insert into accountability (id, case_id, event_id, kind, subject, person_name, staff_no, unit_code, reason,
                 decided_by, decided_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(new_id())
        .bind(&case.id)
        .bind(event)
        .bind(kind.as_str())
        .bind(subject)
        .bind(name)
        .bind(staff_no)
        .bind(unit)
        .bind(&d.note)
        .bind(&actor.name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(held)
}

/// One row of the accountability register.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// Id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// Its title.
    pub case_title: String,
    /// The kind.
    pub kind: Accountability,
    /// `staff`, `unit_head` or `none`.
    pub subject: String,
    /// The person.
    pub person_name: Option<String>,
    /// Their staff number.
    pub staff_no: Option<String>,
    /// Their unit.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// Why.
    pub reason: String,
    /// Who decided.
    pub decided_by: String,
    /// When, ms.
    pub decided_at: i64,
    /// The verification verdict behind it.
    pub verdict: Option<String>,
    /// SHA-256 of every evidence file of the case: the evidence chain.
    pub evidence: Vec<String>,
}

/// Filters of the register.
#[derive(Debug, Clone, Default)]
pub struct RegisterFilter {
    /// Only units under this node.
    pub under: Option<OrgCode>,
    /// Only this kind.
    pub kind: Option<Accountability>,
    /// Decided at or after, ms.
    pub from: Option<i64>,
    /// Decided before, ms.
    pub to: Option<i64>,
    /// Leave out decisions of no accountability.
    pub held_only: bool,
}

/// The register within `scopes`, newest first.
pub async fn decisions(store: &Store, scopes: &[OrgCode], f: &RegisterFilter, limit: i64) -> Result<Vec<Decision>> {
    if scopes.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds: Vec<Bind> = scopes.iter().map(|s| Bind::Text(s.as_str().to_owned())).collect();
    let ps: Vec<String> = (1..=binds.len()).map(|i| format!("${i}")).collect();
    let mut sql = format!(
        "select k.id, k.case_id, c.title, k.kind, k.subject, k.person_name, k.staff_no, k.unit_code, n.name as unit_name,
             k.reason, k.decided_by, k.decided_at, c.verdict
         from accountability k join cases c on c.id = k.case_id join org_nodes n on n.code = k.unit_code
         where exists (select 1 from org_closure a where a.descendant = k.unit_code and a.ancestor in ({}))",
        ps.join(",")
    );
    let mut push = |cond: &str, b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        sql.push_str(&cond.replace('?', &format!("${}", binds.len())));
    };
    if let Some(u) = &f.under {
        push(
            " and exists (select 1 from org_closure b where b.descendant = k.unit_code and b.ancestor = ?)",
            Bind::Text(u.as_str().to_owned()),
            &mut binds,
        );
    }
    if let Some(k) = f.kind {
        push(" and k.kind = ?", Bind::Text(k.as_str().to_owned()), &mut binds);
    }
    if let Some(from) = f.from {
        push(" and k.decided_at >= ?", Bind::Int(from), &mut binds);
    }
    if let Some(to) = f.to {
        push(" and k.decided_at < ?", Bind::Int(to), &mut binds);
    }
    if f.held_only {
        sql.push_str(" and k.kind <> 'none'");
    }
    sql.push_str(&format!(" order by k.decided_at desc, k.id limit {}", limit.clamp(1, 100_000)));
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("kind")?;
        let case_id: String = r.try_get("case_id")?;
        let evidence = sqlx::query_scalar(
            "select sha256 from attachments where case_id = $1 and event_id is not null order by created_at",
        )
        .bind(&case_id)
        .fetch_all(store.pool())
        .await?;
        out.push(Decision {
            id: r.try_get("id")?,
            case_title: r.try_get("title")?,
            case_id,
            kind: Accountability::parse(&kind)
                .ok_or_else(|| crate::store::undecodable("accountability.kind", format!("{kind:?}")))?,
            subject: r.try_get("subject")?,
            person_name: opt_text(&r, "person_name")?,
            staff_no: opt_text(&r, "staff_no")?,
            unit_code: r.try_get("unit_code")?,
            unit_name: r.try_get("unit_name")?,
            reason: r.try_get("reason")?,
            decided_by: r.try_get("decided_by")?,
            decided_at: r.try_get("decided_at")?,
            verdict: opt_text(&r, "verdict")?,
            evidence,
        });
    }
    Ok(out)
}

/// People held to account (rows other than "none") under `root` between `from` and `to`, by
/// kind: the figure the dashboards report.
pub async fn counts(store: &Store, root: &OrgCode, from: i64, to: i64) -> Result<Vec<(Accountability, i64)>> {
    let rows = sqlx::query(
        "select k.kind, cast(count(*) as bigint) as n from accountability k join org_closure a on a.descendant = k.unit_code
         where a.ancestor = $1 and k.decided_at >= $2 and k.decided_at < $3 and k.kind <> 'none' group by k.kind",
    )
    .bind(root.as_str())
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    let mut out: Vec<(Accountability, i64)> = Accountability::ALL.iter().skip(1).map(|k| (*k, 0)).collect();
    for r in rows {
        let kind: String = r.try_get("kind")?;
        if let Some(slot) = out.iter_mut().find(|(k, _)| k.as_str() == kind) {
            slot.1 = r.try_get("n")?;
        }
    }
    Ok(out)
}
