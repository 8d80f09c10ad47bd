//! The ledger's pages: the list with filters, import and the assign form (`/items`), an item with a
//! form per action, milestones and sub-items (`/items/{id}`), and its printable documents.

use super::*;

#[derive(Template)]
#[template(path = "items.html")]
struct ItemsPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    rows: Vec<ItemRow>,
    total: i64,
    page: i64,
    pages: i64,
    p: ItemParams,
    query: String,
    assigns: bool,
    errors: Vec<String>,
    new: ItemRequest,
    sources: Vec<(String, String)>,
    levels: Vec<(String, String)>,
    imported: Option<crate::web::supervision::transfer::ImportReport>,
}

fn label<T: Copy>(
    tr: Tr,
    all: &[T],
    key: impl Fn(T) -> String,
    zh: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|x| {
            let k = key(*x);
            let l = if tr.locale == crate::i18n::Locale::ZhCn {
                zh(*x).to_owned()
            } else {
                tr.t(&format!("item.word.{k}")).to_owned()
            };
            (k, l)
        })
        .collect()
}

async fn render_items(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    p: ItemParams,
    errors: Vec<String>,
    new: ItemRequest,
) -> Result<ItemsPage, PageError> {
    let found = items::list_for(state, user, &p, tr).await?;
    let pages = ((found.total + found.per_page - 1) / found.per_page).max(1);
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("state", &p.state), ("colour", &p.colour), ("q", &p.q), ("source", &p.source), ("under", &p.under)]
    {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    if p.recurring == Some(true) {
        q.append_pair("recurring", "true");
    }
    Ok(ItemsPage {
        nav: Nav::new(Some(user), "/items"),
        csrf: user.csrf().to_owned(),
        total: found.total,
        page: found.page,
        pages,
        rows: rows(found.items),
        query: q.finish(),
        p,
        assigns: user.user.role.may(Permission::AssignItems),
        errors,
        new,
        sources: label(tr, Source::ALL, |s| s.as_str().to_owned(), Source::label_zh),
        levels: label(tr, Level::ALL, |s| s.as_str().to_owned(), Level::label_zh),
        imported: None,
        tr,
    })
}

fn blank_item() -> ItemRequest {
    ItemRequest {
        title: String::new(),
        requirements: String::new(),
        source: "leader_instruction".into(),
        level: None,
        category: String::new(),
        unit: String::new(),
        assisting: None,
        responsible_leader: String::new(),
        responsible_person: String::new(),
        days: None,
        case_id: None,
        parent_id: None,
        weight: None,
    }
}

pub(super) async fn import_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    form: Multipart,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let result = async {
        let (fields, files) = read_multipart(form).await?;
        let (name, bytes) = files.first().ok_or_else(|| Error::field("file", tr.t("ledger.err.import_file")))?;
        let format = crate::imports::Format::from_path(name)
            .ok_or_else(|| Error::field("file", tr.t("ledger.err.import_file")))?;
        let dry_run = !field(&fields, "dry_run").is_empty();
        crate::web::supervision::transfer::run_import(&state, &user, bytes, format, dry_run, tr).await
    }
    .await;
    let (status, errors, report) = match result {
        Ok(r) => (axum::http::StatusCode::OK, Vec::new(), Some(r)),
        Err(e) => {
            let (status, errors) = kept(e)?;
            (status, errors, None)
        }
    };
    let mut page = render_items(&state, tr, &user, ItemParams::default(), errors, blank_item()).await?;
    page.imported = report;
    Ok((status, Page(page)).into_response())
}

pub(super) async fn items_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<ItemParams>,
) -> Result<Response, PageError> {
    Ok(Page(render_items(&state, Tr { locale }, &user, p, Vec::new(), blank_item()).await?).into_response())
}

pub(super) async fn new_item(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let assisting: Vec<String> =
        get("assisting").split([',', '，', ' ', '\n']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let mut req = ItemRequest {
        title: get("title"),
        requirements: get("requirements"),
        source: get("source"),
        level: Some(get("level")),
        category: get("category"),
        unit: get("unit"),
        assisting: Some(assisting),
        responsible_leader: get("responsible_leader"),
        responsible_person: get("responsible_person"),
        days: None,
        case_id: Some(get("case_id")),
        parent_id: None,
        weight: None,
    };
    let result = async {
        user.may(Permission::AssignItems)?;
        req.days = number(&get("days"), "days", tr)?;
        let new = items::checked_item(&state, &user, &req, tr).await?;
        Ok::<_, Error>(
            crate::store::items::open(&state.store, &state.calendar, &new, &user.actor(), user.user.role).await?,
        )
    }
    .await;
    match result {
        Ok(item) => Ok(Redirect::to(&format!("/items/{}", item.id)).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let page = render_items(&state, tr, &user, ItemParams::default(), errors, req).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

struct EventRow {
    event: crate::store::items::Event,
    label: String,
    at: String,
    files: Vec<Attachment>,
    documents: Vec<crate::store::items::Document>,
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    d: ItemDetail,
    source: String,
    level: String,
    outcome: String,
    due: String,
    step_due: String,
    created: String,
    events: Vec<EventRow>,
    actions: Vec<(String, String)>,
    rechecks: Vec<(String, String)>,
    outcomes: Vec<(String, String)>,
    errors: Vec<String>,
    note: String,
    milestones: Vec<(crate::store::items::Milestone, String)>,
    plans: bool,
    reaches: bool,
    children: Vec<ItemRow>,
}

async fn render_item(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    item: crate::store::items::Item,
    errors: Vec<String>,
    note: String,
) -> Result<ItemPage, PageError> {
    let d = items::detail(state, user, item).await?;
    let word = |k: &str, zh: &str| {
        if tr.locale == crate::i18n::Locale::ZhCn { zh.to_owned() } else { tr.t(&format!("item.word.{k}")).to_owned() }
    };
    let i = &d.item;
    let outcome =
        i.outcome.as_deref().and_then(Outcome::parse).map(|o| word(o.as_str(), o.label_zh())).unwrap_or_default();
    let events = d
        .timeline
        .iter()
        .map(|e| EventRow {
            label: if e.action == "colour" {
                format!("{} · {}", tr.t("item.action.colour"), tr.t(&format!("item.colour.{}", e.note)))
            } else {
                tr.t(&format!("item.action.{}", e.action)).to_owned()
            },
            at: local(e.created_at),
            files: d.attachments.iter().filter(|a| a.event_id.as_deref() == Some(e.id.as_str())).cloned().collect(),
            documents: d.documents.iter().filter(|x| x.event_id.as_deref() == Some(e.id.as_str())).cloned().collect(),
            event: e.clone(),
        })
        .collect();
    let actions = d.actions.iter().map(|a| (a.clone(), tr.t(&format!("item.action.{a}")).to_owned())).collect();
    let open = d.item.state != crate::domain::item::State::Closed;
    let unit_role = matches!(user.user.role, Role::UnitHead | Role::Staff);
    let milestones =
        d.item.milestones.iter().map(|m| (m.clone(), crate::domain::time::date_zh(m.planned_at))).collect();
    let children = rows(d.children.clone());
    let rechecks = d
        .rechecks
        .iter()
        .map(|r| {
            let result = match r.passed {
                Some(true) => tr.t("item.recheck.passed"),
                Some(false) => tr.t("item.recheck.failed"),
                None => tr.t("item.recheck.pending"),
            };
            (crate::domain::time::date_zh(r.due_at), result.to_owned())
        })
        .collect();
    Ok(ItemPage {
        nav: Nav::new(Some(user), &format!("/items/{}", i.id)),
        csrf: user.csrf().to_owned(),
        source: word(i.source.as_str(), i.source.label_zh()),
        level: word(i.level.as_str(), i.level.label_zh()),
        outcome,
        due: local(i.deadline_at),
        step_due: i.step_due_at.map(local).unwrap_or_default(),
        created: local(i.started_at),
        events,
        actions,
        rechecks,
        outcomes: label(tr, Outcome::ALL, |o| o.as_str().to_owned(), Outcome::label_zh),
        errors,
        note,
        milestones,
        plans: open && (unit_role || matches!(user.user.role, Role::Inspector | Role::Supervisor)),
        reaches: open && unit_role,
        children,
        tr,
        d,
    })
}

pub(super) async fn item_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let item = items::visible_item(&state, &user, &id).await?;
    Ok(Page(render_item(&state, Tr { locale }, &user, item, Vec::new(), String::new()).await?).into_response())
}

pub(super) async fn act_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let item = items::visible_item(&state, &user, &id).await?;
    let (fields, files) = read_multipart(form).await?;
    let f = |k: &str| field(&fields, k);
    let flag = |k: &str| match f(k) {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let result = async {
        let mut req = ItemAction {
            action: f("action").to_owned(),
            version: number(f("version"), "version", tr)?,
            note: Some(f("note").to_owned()),
            percent: number(f("percent"), "percent", tr)?,
            days: number(f("days"), "days", tr)?,
            approve: flag("approve"),
            outcome: Some(f("outcome").to_owned()).filter(|o| !o.is_empty()),
            passed: flag("passed"),
            attachments: None,
        };
        // Check the request before keeping the files: a refused action leaves no stray upload.
        let mut probe = req.clone();
        probe.attachments = Some(files.iter().map(|_| "pending".to_owned()).collect());
        probe.parse(tr).map_err(Error::Validation)?;
        let mut ids = Vec::new();
        for (name, bytes) in &files {
            let files = crate::store::items::TABLES.files();
            ids.push(crate::web::evidence::save_file(&state, &user, &files, &item.id, Some(name), bytes).await?.id);
        }
        req.attachments = Some(ids);
        items::act(&state, &user, &id, &req, tr).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/items/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let item = items::visible_item(&state, &user, &id).await?;
            let page = render_item(&state, tr, &user, item, errors, f("note").to_owned()).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "item_document.html")]
struct DocumentPage {
    tr: Tr,
    nav: Nav,
    item: ItemView,
    doc: crate::store::items::Document,
    title: String,
    lead: String,
    issued: String,
    due: String,
    finding: String,
}

pub(super) async fn document_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath((id, doc)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let item = items::visible_item(&state, &user, &id).await?;
    let doc = crate::store::items::documents(&state.store, &item.id)
        .await?
        .into_iter()
        .find(|d| d.id == doc)
        .ok_or(Error::NotFound)?;
    let page = DocumentPage {
        nav: Nav::new(Some(&user), &format!("/items/{id}")),
        title: tr.t(&format!("item.doc.{}", doc.kind)).to_owned(),
        lead: tr.t(&format!("item.doc.body.{}", doc.kind)).to_owned(),
        issued: crate::domain::time::date_zh(doc.created_at),
        due: crate::domain::time::date_zh(item.deadline_at),
        finding: doc.body.get("finding").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
        item: ItemView::of(item, crate::store::now_ms()),
        doc,
        tr,
    };
    Ok(Page(page).into_response())
}

pub(super) async fn milestone_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let result = async {
        let percent = number::<u8>(&get("percent"), "percent", tr)?.unwrap_or(0);
        let r = crate::web::supervision::items::MilestoneRequest {
            title: get("title"),
            planned_on: get("planned_on"),
            percent,
        };
        crate::web::supervision::items::add_milestone(&state, &user, &id, &r, tr).await
    }
    .await;
    after_item_form(&state, tr, &user, &id, result.map(|_| ())).await
}

pub(super) async fn reached_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath((id, milestone)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let result = crate::web::supervision::items::reach(&state, &user, &id, &milestone, tr).await.map(|_| ());
    after_item_form(&state, tr, &user, &id, result).await
}

/// Back to the item page after one of its forms, or the page with the form's errors.
pub(super) async fn after_item_form(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    id: &str,
    result: Result<(), Error>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/items/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = kept(e)?;
            let item = items::visible_item(state, user, id).await?;
            Ok((status, Page(render_item(state, tr, user, item, errors, String::new()).await?)).into_response())
        }
    }
}
