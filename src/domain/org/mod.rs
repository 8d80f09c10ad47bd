//! The organisation tree: regions, departments, units and windows as one tree of org nodes,
//! the rules for which kind may sit under which, and the plan for an import (validated as a
//! whole before anything is written, so an import is all-or-nothing and idempotent on codes).

use std::collections::{HashMap, HashSet};

use super::FieldError;
use super::ids::{OrgCode, StaffNo, parse_name};

/// What an org node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 区县 or the city itself.
    Region,
    /// 部门.
    Department,
    /// 单位: a service point that has a rating code.
    Unit,
    /// 窗口: a counter inside a unit.
    Window,
}

impl OrgKind {
    /// Every kind, from the top of the tree down.
    pub const ALL: [OrgKind; 4] = [OrgKind::Region, OrgKind::Department, OrgKind::Unit, OrgKind::Window];

    /// The stable name used in files and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Region => "region",
            OrgKind::Department => "department",
            OrgKind::Unit => "unit",
            OrgKind::Window => "window",
        }
    }

    /// Parses the stable name or its Chinese equivalent (区县/部门/单位/窗口).
    pub fn parse(s: &str) -> Option<OrgKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "region" | "区县" | "区域" | "地区" => Some(OrgKind::Region),
            "department" | "部门" => Some(OrgKind::Department),
            "unit" | "单位" => Some(OrgKind::Unit),
            "window" | "窗口" => Some(OrgKind::Window),
            _ => None,
        }
    }

    /// Whether a node of this kind may sit under a parent of kind `parent` (`None`: a root).
    ///
    /// Roots are regions; departments sit in regions or departments; units in regions,
    /// departments or (as branch halls) other units; windows only in units.
    pub fn allowed_under(self, parent: Option<OrgKind>) -> bool {
        use OrgKind::*;
        matches!(
            (self, parent),
            (Region, None | Some(Region))
                | (Department, Some(Region | Department))
                | (Unit, Some(Region | Department | Unit))
                | (Window, Some(Unit))
        )
    }
}

/// One org node as the import file and the database describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRecord {
    /// Stable code.
    pub code: OrgCode,
    /// Parent's code; `None` for a root.
    pub parent: Option<OrgCode>,
    /// Kind.
    pub kind: OrgKind,
    /// Chinese name.
    pub name: String,
    /// English name, if any.
    pub name_en: Option<String>,
    /// Street address, if any.
    pub address: Option<String>,
}

/// The columns of an org import file, with the Chinese headers also accepted.
pub const ORG_COLUMNS: [(&str, &str); 6] = [
    ("code", "编码"),
    ("parent_code", "上级编码"),
    ("kind", "类型"),
    ("name", "名称"),
    ("name_en", "英文名称"),
    ("address", "地址"),
];

fn optional_text(value: &str, column: &str, row: usize, max: usize) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max {
        return Err(FieldError::at_row(row, column, format!("longer than {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::at_row(row, column, "contains control characters"));
    }
    Ok(Some(v.to_owned()))
}

impl OrgRecord {
    /// Parses one import row, given as a lookup from column name to cell text.
    /// Every bad field of the row is reported, not only the first.
    pub fn from_row(row: usize, cell: impl Fn(&str) -> String) -> Result<OrgRecord, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = OrgCode::parse(&cell("code")).map_err(|e| errors.push(FieldError::at_row(row, "code", e.0))).ok();
        let parent_text = cell("parent_code");
        let parent = if parent_text.trim().is_empty() {
            Some(None)
        } else {
            OrgCode::parse(&parent_text)
                .map(Some)
                .map_err(|e| errors.push(FieldError::at_row(row, "parent_code", e.0)))
                .ok()
        };
        let kind_text = cell("kind");
        let kind = OrgKind::parse(&kind_text);
        if kind.is_none() {
            errors.push(FieldError::at_row(
                row,
                "kind",
                format!("'{}' is not one of region, department, unit, window", kind_text.trim()),
            ));
        }
        let name =
            parse_name(&cell("name"), "name").map_err(|e| errors.push(FieldError::at_row(row, "name", e.0))).ok();
        let name_en = optional_text(&cell("name_en"), "name_en", row, 200).map_err(|e| errors.push(e)).ok();
        let address = optional_text(&cell("address"), "address", row, 300).map_err(|e| errors.push(e)).ok();
        match (code, parent, kind, name, name_en, address) {
            (Some(code), Some(parent), Some(kind), Some(name), Some(name_en), Some(address)) if errors.is_empty() => {
                if parent.as_ref() == Some(&code) {
                    return Err(vec![FieldError::at_row(row, "parent_code", "a node cannot be its own parent")]);
                }
                Ok(OrgRecord { code, parent, kind, name, name_en, address })
            }
            _ => Err(errors),
        }
    }
}

/// What an import will do, decided before anything is written.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OrgImportPlan {
    /// New nodes, parents before children.
    pub create: Vec<OrgRecord>,
    /// Existing nodes whose fields change.
    pub update: Vec<OrgRecord>,
    /// Rows identical to what is stored.
    pub unchanged: usize,
    /// Whether any existing node moves to another parent (the closure must be rebuilt).
    pub moves: bool,
}

/// Plans an import of `rows` (each with its file row number) onto the `existing` tree.
///
/// Refuses the whole file, naming every bad row, when a code repeats, a parent is missing,
/// a kind may not sit under its parent (also for existing children of a node whose kind
/// changes), or a move would make a cycle.
pub fn plan_org_import(
    existing: &HashMap<OrgCode, OrgRecord>,
    rows: Vec<(usize, OrgRecord)>,
) -> Result<OrgImportPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut first_row: HashMap<OrgCode, usize> = HashMap::new();
    for (row, rec) in &rows {
        if let Some(first) = first_row.get(&rec.code) {
            errors.push(FieldError::at_row(
                *row,
                "code",
                format!("code {} appears again (first at row {first})", rec.code),
            ));
        } else {
            first_row.insert(rec.code.clone(), *row);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // The tree as it will be: existing nodes overlaid with the file.
    let mut kinds: HashMap<&OrgCode, OrgKind> = existing.iter().map(|(c, r)| (c, r.kind)).collect();
    let mut parents: HashMap<&OrgCode, Option<&OrgCode>> =
        existing.iter().map(|(c, r)| (c, r.parent.as_ref())).collect();
    for (_, rec) in &rows {
        kinds.insert(&rec.code, rec.kind);
        parents.insert(&rec.code, rec.parent.as_ref());
    }

    for (row, rec) in &rows {
        let parent_kind = match &rec.parent {
            None => None,
            Some(p) => match kinds.get(p) {
                Some(k) => Some(*k),
                None => {
                    errors.push(FieldError::at_row(
                        *row,
                        "parent_code",
                        format!("parent {p} is neither in the file nor in the tree"),
                    ));
                    continue;
                }
            },
        };
        if !rec.kind.allowed_under(parent_kind) {
            let under = parent_kind.map_or("the top of the tree", OrgKind::as_str);
            errors.push(FieldError::at_row(
                *row,
                "kind",
                format!("a {} cannot be placed under {under}", rec.kind.as_str()),
            ));
            continue;
        }
        // Walk up from the node; meeting it again means the file closes a loop.
        let mut seen = HashSet::new();
        let mut at = rec.parent.as_ref();
        while let Some(code) = at {
            if code == &rec.code || !seen.insert(code) {
                errors.push(FieldError::at_row(
                    *row,
                    "parent_code",
                    format!(
                        "moving {} under {} would make a loop",
                        rec.code,
                        rec.parent.as_ref().map_or("", |p| p.as_str())
                    ),
                ));
                break;
            }
            at = parents.get(code).copied().flatten();
        }
    }

    // Existing children that the file does not mention must still fit a parent whose kind changes.
    let changed_kind: HashMap<&OrgCode, (usize, OrgKind)> = rows
        .iter()
        .filter(|(_, rec)| existing.get(&rec.code).is_some_and(|old| old.kind != rec.kind))
        .map(|(row, rec)| (&rec.code, (*row, rec.kind)))
        .collect();
    if !changed_kind.is_empty() {
        for child in existing.values() {
            if first_row.contains_key(&child.code) {
                continue;
            }
            if let Some(p) = &child.parent
                && let Some((row, new_kind)) = changed_kind.get(p)
                && !child.kind.allowed_under(Some(*new_kind))
            {
                errors.push(FieldError::at_row(
                    *row,
                    "kind",
                    format!(
                        "{p} has a {} ({}) that cannot sit under a {}",
                        child.kind.as_str(),
                        child.code,
                        new_kind.as_str()
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(errors);
    }

    let mut plan = OrgImportPlan::default();
    for (_, rec) in rows {
        match existing.get(&rec.code) {
            None => plan.create.push(rec),
            Some(old) if *old == rec => plan.unchanged += 1,
            Some(old) => {
                plan.moves |= old.parent != rec.parent;
                plan.update.push(rec);
            }
        }
    }
    plan.create = parents_first(plan.create, existing);
    Ok(plan)
}

/// Orders new nodes so that every parent is created before its children.
fn parents_first(mut nodes: Vec<OrgRecord>, existing: &HashMap<OrgCode, OrgRecord>) -> Vec<OrgRecord> {
    let new_codes: HashSet<OrgCode> = nodes.iter().map(|n| n.code.clone()).collect();
    let mut placed: HashSet<OrgCode> = HashSet::new();
    let mut ordered = Vec::with_capacity(nodes.len());
    // Each pass places every node whose parent is already placed or not new; the plan has no
    // loops, so each pass places at least one node.
    while !nodes.is_empty() {
        let before = nodes.len();
        let (ready, rest): (Vec<_>, Vec<_>) = nodes.into_iter().partition(|n| match &n.parent {
            None => true,
            Some(p) => !new_codes.contains(p) || placed.contains(p) || existing.contains_key(p),
        });
        for n in &ready {
            placed.insert(n.code.clone());
        }
        ordered.extend(ready);
        nodes = rest;
        if nodes.len() == before {
            ordered.append(&mut nodes);
        }
    }
    ordered
}

/// A staff member attached to a unit or window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    /// City-wide staff number.
    pub staff_no: StaffNo,
    /// The unit or window they work at.
    pub org_code: OrgCode,
    /// Full name.
    pub name: String,
    /// Job title, if any.
    pub position: Option<String>,
}

/// The columns of a staff import file, with the Chinese headers also accepted.
pub const STAFF_COLUMNS: [(&str, &str); 4] =
    [("staff_no", "工号"), ("org_code", "所属编码"), ("name", "姓名"), ("position", "职务")];

impl StaffRecord {
    /// Parses one import row, reporting every bad field.
    pub fn from_row(row: usize, cell: impl Fn(&str) -> String) -> Result<StaffRecord, Vec<FieldError>> {
        let mut errors = Vec::new();
        let staff_no =
            StaffNo::parse(&cell("staff_no")).map_err(|e| errors.push(FieldError::at_row(row, "staff_no", e.0))).ok();
        let org_code =
            OrgCode::parse(&cell("org_code")).map_err(|e| errors.push(FieldError::at_row(row, "org_code", e.0))).ok();
        let name =
            parse_name(&cell("name"), "name").map_err(|e| errors.push(FieldError::at_row(row, "name", e.0))).ok();
        let position = optional_text(&cell("position"), "position", row, 100).map_err(|e| errors.push(e)).ok();
        match (staff_no, org_code, name, position) {
            (Some(staff_no), Some(org_code), Some(name), Some(position)) if errors.is_empty() => {
                Ok(StaffRecord { staff_no, org_code, name, position })
            }
            _ => Err(errors),
        }
    }
}

/// What a staff import will do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StaffImportPlan {
    /// New staff.
    pub create: Vec<StaffRecord>,
    /// Staff whose fields change.
    pub update: Vec<StaffRecord>,
    /// Rows identical to what is stored.
    pub unchanged: usize,
}

/// Plans a staff import: numbers unique in the file, each attached to an existing unit or window.
pub fn plan_staff_import(
    tree_kinds: &HashMap<OrgCode, OrgKind>,
    existing: &HashMap<StaffNo, StaffRecord>,
    rows: Vec<(usize, StaffRecord)>,
) -> Result<StaffImportPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut first_row: HashMap<&StaffNo, usize> = HashMap::new();
    for (row, rec) in &rows {
        if let Some(first) = first_row.get(&rec.staff_no) {
            errors.push(FieldError::at_row(
                *row,
                "staff_no",
                format!("staff number {} appears again (first at row {first})", rec.staff_no.as_str()),
            ));
            continue;
        }
        first_row.insert(&rec.staff_no, *row);
        match tree_kinds.get(&rec.org_code) {
            None => errors.push(FieldError::at_row(*row, "org_code", format!("{} is not in the tree", rec.org_code))),
            Some(OrgKind::Unit | OrgKind::Window) => {}
            Some(k) => errors.push(FieldError::at_row(
                *row,
                "org_code",
                format!("staff belong to a unit or window, not a {}", k.as_str()),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut plan = StaffImportPlan::default();
    for (_, rec) in rows {
        match existing.get(&rec.staff_no) {
            None => plan.create.push(rec),
            Some(old) if *old == rec => plan.unchanged += 1,
            Some(_) => plan.update.push(rec),
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests;
