-- The supervision ledger (docs/supervision.md): where inspection teams were stationed and when,
-- their plans and visits (a secret visit is sealed until its findings are issued), the numbered
-- feedback sheets (问题反馈单) a unit signs for, coordination meetings, and the ledger of items
-- (督办事项): a machine on the workflow engine with the case loop's shapes of timeline, evidence
-- and numbered documents, plus re-checks (回头看), milestones, colours and the rungs of the
-- escalation ladder.

-- Stationing with its history: a period per team and subtree; the open one is the current
-- station (inspection_team_stations keeps the current ones, as before).
create table inspection_station_periods (
    team_code text not null references inspection_teams (code),
    org_code text not null references org_nodes (code),
    started_at bigint not null,
    ended_at bigint,
    primary key (team_code, org_code, started_at)
);
insert into inspection_station_periods (team_code, org_code, started_at, ended_at)
select s.team_code, s.org_code, t.created_at, null
from inspection_team_stations s join inspection_teams t on t.code = s.team_code;

-- A plan (《政府督查工作条例》: a written plan, a named leader, a scope and a window).
create table inspection_plans (
    id text primary key,
    team_code text not null references inspection_teams (code),
    title text not null,
    mode text not null check (mode in ('open', 'secret')),
    scope_code text not null references org_nodes (code),
    targets text not null,
    leader text not null,
    starts_on text not null,
    ends_on text not null,
    -- the checklist's keys, JSON array of strings
    checklist text not null,
    created_by text not null,
    created_at bigint not null
);
create index inspection_plans_team on inspection_plans (team_code, starts_on);

create table inspection_visits (
    id text primary key,
    plan_id text references inspection_plans (id),
    team_code text not null references inspection_teams (code),
    unit_code text not null references org_nodes (code),
    mode text not null check (mode in ('open', 'secret')),
    visited_at bigint not null,
    place text not null,
    members text not null,
    -- JSON array of {"key", "ok", "note"}
    checklist text not null,
    note text not null,
    -- 1 while a secret visit's findings are not issued: nobody outside the team sees it
    sealed bigint not null,
    sheet_id text,
    created_by text not null,
    created_at bigint not null
);
create index inspection_visits_unit on inspection_visits (unit_code, visited_at);
create index inspection_visits_team on inspection_visits (team_code, visited_at);

create table visit_attachments (
    id text primary key,
    sha256 text not null,
    name text not null,
    content_type text not null,
    size bigint not null,
    visit_id text not null references inspection_visits (id),
    event_id text,
    uploaded_by text not null,
    created_at bigint not null
);
create index visit_attachments_visit on visit_attachments (visit_id);

-- 问题反馈单: numbered per office and year (document_serials, kind 'sheet').
create table feedback_sheets (
    id text primary key,
    number text not null,
    office_code text not null references org_nodes (code),
    year bigint not null,
    serial bigint not null,
    team_code text not null references inspection_teams (code),
    unit_code text not null references org_nodes (code),
    visit_id text references inspection_visits (id),
    reply_due_at bigint not null,
    responsible_leader text not null,
    responsible_person text not null,
    body text not null,
    issued_by text not null,
    created_at bigint not null,
    signed_by text,
    signed_at bigint,
    unique (office_code, year, serial)
);
create index feedback_sheets_unit on feedback_sheets (unit_code, created_at);

-- 现场协调会: a meeting on a matter, its attendees (units, enterprises, people), agenda, and the
-- numbered minutes issued within a deadline; each decision is an item (meeting_id). The next
-- meeting on the same matter names the last one (previous_id).
create table meetings (
    id text primary key,
    title text not null,
    scope_code text not null references org_nodes (code),
    previous_id text references meetings (id),
    held_at bigint not null,
    place text not null,
    -- JSON array of strings
    attendees text not null,
    agenda text not null,
    minutes text,
    minutes_due_at bigint not null,
    minutes_number text,
    minutes_issued_at bigint,
    created_by text not null,
    created_at bigint not null
);
create index meetings_scope on meetings (scope_code, held_at);

create table items (
    id text primary key,
    number text,
    title text not null,
    requirements text not null,
    measures text not null,
    source text not null,
    level text not null,
    category text not null,
    -- the lead unit (主办); assisting units are in item_units
    unit_code text not null references org_nodes (code),
    office_code text not null references org_nodes (code),
    responsible_leader text not null,
    responsible_person text not null,
    team_code text references inspection_teams (code),
    visit_id text references inspection_visits (id),
    sheet_id text references feedback_sheets (id),
    case_id text references cases (id),
    meeting_id text references meetings (id),
    parent_id text references items (id),
    weight bigint not null,
    state text not null,
    version bigint not null,
    progress bigint not null,
    started_at bigint not null,
    deadline_at bigint not null,
    clock_id text,
    step text,
    step_due_at bigint,
    step_clock_id text,
    extension_days bigint,
    extension_reason text,
    reported_on_time bigint,
    reported_by text,
    outcome text,
    reopened bigint not null,
    -- an earlier closed item of the same unit and category this one repeats
    recurrence_of text references items (id),
    -- how many later items repeat this one
    recurrences bigint not null,
    -- the closing's evidence was also used to close another item
    evidence_reused bigint not null,
    -- the colour in force and the colours entered so far (comma-separated), for the ladder
    colour text not null,
    colours text not null,
    created_by text not null,
    created_at bigint not null,
    updated_at bigint not null,
    closed_at bigint
);
create unique index items_number on items (number);
create index items_unit on items (unit_code, state);
create index items_office on items (office_code, state);
create index items_team on items (team_code, state);
create index items_meeting on items (meeting_id);
create index items_recurrence on items (unit_code, category, closed_at);

create table item_units (
    item_id text not null references items (id),
    unit_code text not null references org_nodes (code),
    primary key (item_id, unit_code)
);

create table item_events (
    id text primary key,
    item_id text not null references items (id),
    seq bigint not null,
    action text not null,
    from_state text not null,
    to_state text not null,
    actor text not null,
    actor_role text not null,
    note text not null,
    data text not null,
    created_at bigint not null,
    unique (item_id, seq)
);

create table item_attachments (
    id text primary key,
    sha256 text not null,
    name text not null,
    content_type text not null,
    size bigint not null,
    item_id text not null references items (id),
    event_id text references item_events (id),
    uploaded_by text not null,
    created_at bigint not null
);
create index item_attachments_item on item_attachments (item_id);
create index item_attachments_sha on item_attachments (sha256);

create table item_documents (
    id text primary key,
    item_id text not null references items (id),
    event_id text references item_events (id),
    kind text not null check (kind in ('item_assignment', 'item_closing', 'supervision_letter', 'talk', 'referral')),
    office_code text not null references org_nodes (code),
    year bigint not null,
    serial bigint not null,
    number text not null,
    body text not null,
    created_at bigint not null,
    unique (office_code, kind, year, serial)
);
create index item_documents_item on item_documents (item_id);

-- 回头看: re-checks scheduled when an item closes.
create table item_rechecks (
    id text primary key,
    item_id text not null references items (id),
    due_at bigint not null,
    done_at bigint,
    passed bigint,
    checked_by text
);
create index item_rechecks_due on item_rechecks (done_at, due_at);

create table item_milestones (
    id text primary key,
    item_id text not null references items (id),
    seq bigint not null,
    title text not null,
    planned_at bigint not null,
    planned_percent bigint not null,
    done_at bigint
);
create index item_milestones_item on item_milestones (item_id);

-- Data requests (报送要求) to units: the burden meter counts them, and a second request for the
-- same data from the same unit for the same period is refused (the 2024 rules against
-- repeated demands for the same data); the unique key holds under concurrent requests.
create table data_requests (
    id text primary key,
    unit_code text not null references org_nodes (code),
    -- what data, normalised (trimmed, spaces collapsed, lower case)
    topic text not null,
    -- the period the data covers, YYYY-MM
    period text not null,
    detail text not null,
    due_at bigint not null,
    requested_by text not null,
    created_at bigint not null,
    unique (unit_code, topic, period)
);
create index data_requests_unit on data_requests (unit_code, created_at);

-- The city's own numbers for the ledger (domain::item::settings): one row, absent until an admin
-- changes the defaults.
create table ledger_settings (
    id bigint primary key check (id = 1),
    -- JSON of domain::item::settings::Settings
    settings text not null,
    updated_by text not null,
    updated_at bigint not null
);
