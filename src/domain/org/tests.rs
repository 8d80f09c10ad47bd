//! Org tree rules: kinds and nesting, import order, missing parents, loops, kind changes,
//! repeated codes, row parsing, staff placement.

use super::*;

fn code(s: &str) -> OrgCode {
    OrgCode::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn rec(c: &str, parent: Option<&str>, kind: OrgKind) -> OrgRecord {
    OrgRecord { code: code(c), parent: parent.map(code), kind, name: c.to_owned(), name_en: None, address: None }
}

fn existing(recs: &[OrgRecord]) -> HashMap<OrgCode, OrgRecord> {
    recs.iter().map(|r| (r.code.clone(), r.clone())).collect()
}

#[test]
fn kinds_nest_as_documented() {
    assert!(OrgKind::Region.allowed_under(None));
    assert!(!OrgKind::Unit.allowed_under(None));
    assert!(OrgKind::Window.allowed_under(Some(OrgKind::Unit)));
    assert!(!OrgKind::Window.allowed_under(Some(OrgKind::Department)));
    assert!(!OrgKind::Region.allowed_under(Some(OrgKind::Unit)));
}

#[test]
fn children_listed_before_parents_are_created_after_them() {
    let rows = vec![
        (2, rec("W", Some("U"), OrgKind::Window)),
        (3, rec("U", Some("R"), OrgKind::Unit)),
        (4, rec("R", None, OrgKind::Region)),
    ];
    let plan = plan_org_import(&HashMap::new(), rows).unwrap_or_else(|e| panic!("{e:?}"));
    let order: Vec<&str> = plan.create.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(order, ["R", "U", "W"]);
}

#[test]
fn a_missing_parent_names_the_row_and_column() {
    let rows = vec![(2, rec("R", None, OrgKind::Region)), (3, rec("U", Some("X"), OrgKind::Unit))];
    let errors = plan_org_import(&HashMap::new(), rows).err().unwrap_or_default();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].row, errors[0].field.as_str()), (Some(3), "parent_code"));
}

#[test]
fn importing_what_is_stored_changes_nothing() {
    let tree = [rec("R", None, OrgKind::Region), rec("U", Some("R"), OrgKind::Unit)];
    let rows = tree.iter().cloned().enumerate().map(|(i, r)| (i + 2, r)).collect();
    let plan = plan_org_import(&existing(&tree), rows).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(plan, OrgImportPlan { unchanged: 2, ..Default::default() });
}

#[test]
fn a_move_under_its_own_descendant_is_a_loop() {
    let tree = [
        rec("R", None, OrgKind::Region),
        rec("D1", Some("R"), OrgKind::Department),
        rec("D2", Some("D1"), OrgKind::Department),
    ];
    let rows = vec![(2, rec("D1", Some("D2"), OrgKind::Department))];
    let errors = plan_org_import(&existing(&tree), rows).err().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("loop"));
}

#[test]
fn changing_a_kind_checks_the_children_left_in_place() {
    let tree =
        [rec("R", None, OrgKind::Region), rec("U", Some("R"), OrgKind::Unit), rec("W", Some("U"), OrgKind::Window)];
    let rows = vec![(5, rec("U", Some("R"), OrgKind::Department))];
    let errors = plan_org_import(&existing(&tree), rows).err().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].row, Some(5));
}

#[test]
fn a_repeated_code_is_refused() {
    let rows = vec![(2, rec("R", None, OrgKind::Region)), (3, rec("R", None, OrgKind::Region))];
    let errors = plan_org_import(&HashMap::new(), rows).err().unwrap_or_default();
    assert_eq!(errors[0].row, Some(3));
}

#[test]
fn row_parsing_reports_every_bad_field() {
    let errors = OrgRecord::from_row(7, |col| match col {
        "code" => "bad code!".into(),
        "kind" => "planet".into(),
        _ => String::new(),
    })
    .err()
    .unwrap_or_default();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["code", "kind", "name"]);
    assert!(errors.iter().all(|e| e.row == Some(7)));
}

#[test]
fn staff_must_sit_in_a_unit_or_window() {
    let kinds: HashMap<OrgCode, OrgKind> =
        [(code("R"), OrgKind::Region), (code("U"), OrgKind::Unit)].into_iter().collect();
    let staff = |no: &str, org: &str| StaffRecord {
        staff_no: StaffNo::parse(no).unwrap_or_else(|e| panic!("{e}")),
        org_code: code(org),
        name: "张三".into(),
        position: None,
    };
    let ok = plan_staff_import(&kinds, &HashMap::new(), vec![(2, staff("S1", "U"))]);
    assert_eq!(ok.map(|p| p.create.len()), Ok(1));
    let bad = plan_staff_import(&kinds, &HashMap::new(), vec![(2, staff("S1", "R")), (3, staff("S2", "X"))]);
    assert_eq!(bad.err().map(|e| e.len()), Some(2));
}
