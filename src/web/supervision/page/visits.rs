//! The visit pages: record a visit with photos (`/visits/new`), a visit and its findings form
//! (`/visits/{id}`), and the printable feedback sheet the unit signs for (`/sheets/{id}`).

use super::*;

#[derive(Template)]
#[template(path = "visit_new.html")]
struct NewVisitPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    errors: Vec<String>,
    units: Vec<(String, String)>,
    unit: String,
    mode: String,
    place: String,
    members: String,
    note: String,
    checks: Vec<(String, String, String)>,
    plan: Option<crate::store::inspection::Plan>,
}

pub(super) async fn units_in_scope(state: &AppState, user: &CurrentUser) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for s in &user.user.scopes {
        let unit = Some(crate::domain::org::OrgKind::Unit);
        for n in crate::store::org::search_subtree(&state.store, s, unit, None, 400, 0).await?.0 {
            out.push((n.code.to_string(), n.name));
        }
    }
    Ok(out)
}

fn visit_form(
    tr: Tr,
    nav: Nav,
    csrf: String,
    units: Vec<(String, String)>,
    r: &VisitRequest,
    errors: Vec<String>,
    plan: Option<crate::store::inspection::Plan>,
) -> NewVisitPage {
    let checklist = r.checklist.clone().unwrap_or_default();
    let checks = DEFAULT_CHECKLIST
        .iter()
        .filter(|(key, _)| plan.as_ref().is_none_or(|p| p.checklist.iter().any(|k| k == key)))
        .map(|(key, zh)| {
            let state = checklist.iter().find(|c| c.key == *key).map_or("", |c| if c.ok { "ok" } else { "bad" });
            let label = if tr.locale == crate::i18n::Locale::ZhCn {
                (*zh).to_owned()
            } else {
                tr.t(&format!("check.{key}")).to_owned()
            };
            ((*key).to_owned(), label, state.to_owned())
        })
        .collect();
    let mode = if r.mode.is_empty() { "open".to_owned() } else { r.mode.clone() };
    NewVisitPage {
        tr,
        nav,
        csrf,
        errors,
        units,
        unit: r.unit.clone(),
        place: r.place.clone(),
        members: r.members.clone().unwrap_or_default(),
        note: r.note.clone().unwrap_or_default(),
        mode: plan.as_ref().map_or(mode, |p| p.mode.as_str().to_owned()),
        checks,
        plan,
    }
}

pub(super) async fn new_visit(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.may(Permission::Inspect)?;
    let units = units_in_scope(&state, &user).await?;
    let plan = match q.get("plan").filter(|p| !p.is_empty()) {
        Some(id) => Some(crate::web::supervision::plans::visible_plan(&state, &user, id).await?),
        None => None,
    };
    let r = VisitRequest {
        unit: q.get("unit").cloned().unwrap_or_default(),
        plan_id: plan.as_ref().map(|p| p.id.clone()),
        ..Default::default()
    };
    let nav = Nav::new(Some(&user), "/visits/new");
    let page = visit_form(Tr { locale }, nav, user.csrf().to_owned(), units, &r, Vec::new(), plan);
    Ok(Page(page).into_response())
}

pub(super) async fn create_visit(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    form: Multipart,
) -> Result<Response, PageError> {
    user.may(Permission::Inspect)?;
    let tr = Tr { locale };
    let (fields, files) = read_multipart(form).await?;
    let checklist = DEFAULT_CHECKLIST
        .iter()
        .filter_map(|(key, _)| match field(&fields, &format!("check_{key}")) {
            "ok" => Some(Check { key: (*key).to_owned(), ok: true, note: String::new() }),
            "bad" => Some(Check { key: (*key).to_owned(), ok: false, note: String::new() }),
            _ => None,
        })
        .collect();
    let r = VisitRequest {
        plan_id: Some(field(&fields, "plan").to_owned()).filter(|p| !p.is_empty()),
        unit: field(&fields, "unit").to_owned(),
        mode: field(&fields, "mode").to_owned(),
        place: field(&fields, "place").to_owned(),
        members: Some(field(&fields, "members").to_owned()),
        visited_at: None,
        checklist: Some(checklist),
        note: Some(field(&fields, "note").to_owned()),
    };
    // Every file is checked before anything is kept: a refused form leaves no visit behind.
    let checked = crate::web::supervision::checked_visit(&state, &user, &r, tr).await;
    let checked = match checked {
        Ok(new) => files
            .iter()
            .try_for_each(|(_, bytes)| {
                workflow::sniff(bytes).map(|_| ()).ok_or_else(|| Error::field("file", tr.t("ledger.err.file")))
            })
            .map(|()| new),
        Err(e) => Err(e),
    };
    match checked {
        Ok(new) => {
            let v = inspection::record(&state.store, &new, &user.actor()).await?;
            for (name, bytes) in &files {
                crate::web::evidence::save_file(&state, &user, &VISIT_FILES, &v.id, Some(name), bytes).await?;
            }
            Ok(Redirect::to(&format!("/visits/{}", v.id)).into_response())
        }
        Err(e) => {
            let (status, errors) = kept(e)?;
            let units = units_in_scope(&state, &user).await?;
            let plan = match r.plan_id.as_deref() {
                Some(id) => crate::web::supervision::plans::visible_plan(&state, &user, id).await.ok(),
                None => None,
            };
            let nav = Nav::new(Some(&user), "/visits/new");
            let page = visit_form(tr, nav, user.csrf().to_owned(), units, &r, errors, plan);
            Ok((status, Page(page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "visit.html")]
struct VisitPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    visit: Visit,
    at: String,
    checks: Vec<(String, bool, String)>,
    files: Vec<Attachment>,
    own: bool,
    burden: inspection::Burden,
    errors: Vec<String>,
    form: SheetForm,
}

/// What the findings form holds (what was typed, when it comes back).
#[derive(Debug, Clone, Default)]
struct SheetForm {
    rows: Vec<FindingRequest>,
    leader: String,
    person: String,
    reply_days: String,
}

async fn render_visit(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    visit: Visit,
    errors: Vec<String>,
    form: SheetForm,
) -> Result<VisitPage, PageError> {
    let own = crate::web::supervision::my_teams(state, user).await?.contains(&visit.team_code);
    let files = workflow::attachments(&state.store, &VISIT_FILES, &visit.id).await?;
    let burden = inspection::burden(&state.store, &visit.unit_code, crate::store::now_ms()).await?;
    let checks = visit
        .checklist
        .iter()
        .map(|c| {
            let label = if tr.locale == crate::i18n::Locale::ZhCn {
                check_label(&c.key).to_owned()
            } else {
                tr.t(&format!("check.{}", c.key)).to_owned()
            };
            (label, c.ok, c.note.clone())
        })
        .collect();
    let mut form = form;
    form.rows.resize_with(FINDING_ROWS.max(form.rows.len()), FindingRequest::default);
    if form.reply_days.is_empty() {
        form.reply_days = "5".into();
    }
    Ok(VisitPage {
        tr,
        nav: Nav::new(Some(user), &format!("/visits/{}", visit.id)),
        csrf: user.csrf().to_owned(),
        at: local(visit.visited_at),
        checks,
        files,
        own,
        burden,
        errors,
        form,
        visit,
    })
}

pub(super) async fn visit_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let visit = crate::web::supervision::visible_visit(&state, &user, &id).await?;
    let page = render_visit(&state, Tr { locale }, &user, visit, Vec::new(), SheetForm::default()).await?;
    Ok(Page(page).into_response())
}

pub(super) async fn add_photo(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let visit = crate::web::supervision::own_visit(&state, &user, &id).await?;
    let (_, files) = read_multipart(form).await?;
    let mut result =
        if files.is_empty() { Err(Error::field("file", Tr { locale }.t("ledger.err.file"))) } else { Ok(()) };
    for (name, bytes) in &files {
        if result.is_ok() {
            result = crate::web::evidence::save_file(&state, &user, &VISIT_FILES, &visit.id, Some(name), bytes)
                .await
                .map(|_| ());
        }
    }
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/visits/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let page = render_visit(&state, Tr { locale }, &user, visit, errors, SheetForm::default()).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

pub(super) async fn issue_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let mut rows = Vec::new();
    for i in 0..FINDING_ROWS {
        rows.push(FindingRequest {
            problem: get(&format!("problem_{i}")),
            requirement: get(&format!("requirement_{i}")),
            category: get(&format!("category_{i}")),
            level: Some(get(&format!("level_{i}"))),
            days: None,
        });
    }
    let form = SheetForm {
        rows: rows.clone(),
        leader: get("responsible_leader"),
        person: get("responsible_person"),
        reply_days: get("reply_days"),
    };
    let result = async {
        let mut findings = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if r.problem.is_empty() && r.requirement.is_empty() && r.category.is_empty() {
                continue;
            }
            let days = number::<u32>(&get(&format!("days_{i}")), &format!("findings[{i}].days"), tr)?;
            findings.push(FindingRequest { days, ..r.clone() });
        }
        let req = SheetRequest {
            findings,
            responsible_leader: form.leader.clone(),
            responsible_person: form.person.clone(),
            reply_days: number(&form.reply_days, "reply_days", tr)?,
        };
        crate::web::supervision::issue(&state, &user, &id, &req, tr).await
    }
    .await;
    match result {
        Ok(sheet) => Ok(Redirect::to(&format!("/sheets/{}", sheet.id)).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let visit = crate::web::supervision::visible_visit(&state, &user, &id).await?;
            let page = render_visit(&state, tr, &user, visit, errors, form).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

// ---- sheets ----

struct Problem {
    problem: String,
    requirement: String,
    item: String,
    item_number: String,
    recurrence: bool,
}

#[derive(Template)]
#[template(path = "sheet.html")]
struct SheetPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    sheet: Sheet,
    problems: Vec<Problem>,
    issued: String,
    reply_due: String,
    signed: String,
    may_sign: bool,
    errors: Vec<String>,
}

async fn render_sheet(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    sheet: Sheet,
    errors: Vec<String>,
) -> Result<SheetPage, PageError> {
    let problems = sheet.body["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            Problem {
                problem: s("problem"),
                requirement: s("requirement"),
                item: s("item"),
                item_number: s("item_number"),
                recurrence: p["recurrence_of"].is_string(),
            }
        })
        .collect();
    let may_sign = sheet.signed_by.is_none() && matches!(user.user.role, Role::UnitHead | Role::Staff) && {
        let unit = crate::domain::ids::OrgCode::parse(&sheet.unit_code).map_err(|e| Error::Internal(e.0))?;
        crate::store::org::within(&state.store, &unit, &items::ledger_scopes(state, user).await?).await?
    };
    Ok(SheetPage {
        tr,
        nav: Nav::new(Some(user), &format!("/sheets/{}", sheet.id)),
        csrf: user.csrf().to_owned(),
        problems,
        issued: crate::domain::time::date_zh(sheet.created_at),
        reply_due: crate::domain::time::date_zh(sheet.reply_due_at),
        signed: sheet.signed_at.map(local).unwrap_or_default(),
        may_sign,
        errors,
        sheet,
    })
}

pub(super) async fn sheet_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let sheet = crate::web::supervision::visible_sheet(&state, &user, &id).await?;
    Ok(Page(render_sheet(&state, Tr { locale }, &user, sheet, Vec::new()).await?).into_response())
}

pub(super) async fn sign_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    match crate::web::supervision::sign(&state, &user, &id, tr).await {
        Ok(_) => Ok(Redirect::to(&format!("/sheets/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let sheet = crate::web::supervision::visible_sheet(&state, &user, &id).await?;
            Ok((status, Page(render_sheet(&state, tr, &user, sheet, errors).await?)).into_response())
        }
    }
}
