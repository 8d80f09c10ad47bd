-- Firms, key projects and the enterprise service desk (docs/enterprise.md): parks and their
-- desk promises, industrial chains (链长制), firms identified by their unified social credit
-- code and their users, key projects with funding, stage nodes and monthly reports, each
-- project's channel, and desk requests (企业诉求): the third machine on the workflow engine,
-- with the case loop's shapes of timeline, evidence and numbered documents.

-- A park is an org node (its management committee) with the promises its desk makes.
create table parks (
    org_code text primary key references org_nodes (code),
    reply_minutes bigint not null,
    solution_days bigint not null,
    handover_days bigint not null,
    open_minute bigint not null,
    close_minute bigint not null,
    working_days_only bigint not null,
    updated_at bigint not null
);

create table chains (
    id text primary key,
    name text not null unique,
    -- 链长: the city leader in charge, as printed ("副市长 张某")
    leader text not null,
    -- the unit that runs the chain's task force (专班)
    unit_code text references org_nodes (code),
    description text not null,
    created_at bigint not null
);

create table enterprises (
    id text primary key,
    uscc text not null unique,
    name text not null,
    industry text not null,
    park_code text references parks (org_code),
    size text not null check (size in ('large', 'medium', 'small', 'micro')),
    chain_id text references chains (id),
    -- 链主 (lead firm), member, or a target the chain courts
    chain_role text check (chain_role in ('lead', 'member', 'target')),
    contact text not null,
    created_at bigint not null
);
create index enterprises_chain on enterprises (chain_id);

-- An enterprise user belongs to one firm and sees only its projects, requests and cases.
create table enterprise_users (
    user_id text primary key references users (id),
    enterprise_id text not null references enterprises (id)
);
create index enterprise_users_firm on enterprise_users (enterprise_id);

create table projects (
    id text primary key,
    code text not null unique,
    name text not null,
    park_code text not null references parks (org_code),
    chain_id text references chains (id),
    level text not null check (level in ('province', 'city', 'county')),
    stage text not null check (stage in ('signed', 'building', 'producing', 'terminated')),
    -- money in 万元 (ten thousand yuan), as parks report it
    committed_wan double precision not null,
    planned_start text not null,
    planned_finish text not null,
    started_on text,
    producing_on text,
    signed_on text not null,
    -- the responsible unit and person, the 项目管家 (a user), the city leader in charge
    unit_code text not null references org_nodes (code),
    responsible_person text not null,
    manager text references users (id),
    city_leader text not null,
    description text not null,
    -- cumulative, from the monthly reports
    completed_wan double precision not null,
    arrived_wan double precision not null,
    -- computed by the sweep from the dates and reports (domain::enterprise::project)
    colour text not null,
    slip text,
    -- the channel's last message position (taken with an update, so concurrent posts queue)
    message_seq bigint not null default 0,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index projects_park on projects (park_code);
create index projects_chain on projects (chain_id);
create index projects_unit on projects (unit_code);

create table project_firms (
    project_id text not null references projects (id),
    enterprise_id text not null references enterprises (id),
    primary key (project_id, enterprise_id)
);
create index project_firms_firm on project_firms (enterprise_id);

-- The committed investment by source.
create table project_funding (
    project_id text not null references projects (id),
    source text not null check (source in ('own_funds', 'bank_loan', 'government', 'foreign', 'other')),
    planned_wan double precision not null,
    primary key (project_id, source)
);

-- Stage nodes (a template of milestones), each with its deadline, owner and done date.
create table project_nodes (
    id text primary key,
    project_id text not null references projects (id),
    seq bigint not null,
    name text not null,
    due_on text not null,
    owner text not null,
    done_on text,
    unique (project_id, seq)
);

-- Monthly reports: the investment completed in the month and the funds arrived, by source.
create table project_reports (
    id text primary key,
    project_id text not null references projects (id),
    month text not null,
    completed_wan double precision not null,
    note text not null,
    reported_by text not null,
    created_at bigint not null,
    unique (project_id, month)
);
create table project_report_funds (
    report_id text not null references project_reports (id),
    source text not null check (source in ('own_funds', 'bank_loan', 'government', 'foreign', 'other')),
    arrived_wan double precision not null,
    primary key (report_id, source)
);

-- The project's channel: the firm's users and the project's cadres.
create table channel_messages (
    id text primary key,
    project_id text not null references projects (id),
    seq bigint not null,
    author text not null,
    author_role text not null,
    author_name text not null,
    body text not null,
    -- the desk request this message raised or answered
    request_id text,
    created_at bigint not null,
    unique (project_id, seq)
);

-- Photos and files of a project: posted in its channel (event_id = the message) or with a
-- monthly report (event_id = the report).
create table project_attachments (
    id text primary key,
    sha256 text not null,
    name text not null,
    content_type text not null,
    size bigint not null,
    project_id text not null references projects (id),
    event_id text,
    uploaded_by text not null,
    created_at bigint not null
);
create index project_attachments_project on project_attachments (project_id);

create table desk_requests (
    id text primary key,
    -- numbered per park office and year (document_serials, kind 'desk_request')
    number text not null unique,
    office_code text not null references org_nodes (code),
    project_id text not null references projects (id),
    enterprise_id text not null references enterprises (id),
    message_id text not null references channel_messages (id),
    title text not null,
    body text not null,
    -- the unit that holds it now (the project's, until handed over)
    unit_code text not null references org_nodes (code),
    state text not null check (state in ('posted', 'replied', 'planning', 'solving', 'ruling', 'resolved', 'confirmed', 'withdrawn')),
    version bigint not null,
    step text,
    step_clock_id text,
    step_due_at bigint,
    closed_at bigint,
    posted_by text not null,
    posted_at bigint not null,
    -- when the reply clock started (the posting, or the desk's next opening) and fell due
    reply_from bigint not null,
    reply_due_at bigint not null,
    replied_at bigint,
    replied_on_time bigint,
    complex bigint not null,
    plan_due_at bigint,
    planned_at bigint,
    plan_on_time bigint,
    resolved_at bigint,
    confirmed_at bigint,
    rating bigint,
    rejections bigint not null,
    handovers bigint not null,
    handover_until bigint not null,
    -- the unit a second hand-over proposed, waiting for the owner's ruling, and its basis
    proposed_unit text references org_nodes (code),
    basis text,
    withdrawn_at bigint,
    withdrawal_checked_at bigint,
    withdrawal_checked_by text,
    withdrawal_pressed bigint,
    item_id text references items (id),
    created_at bigint not null,
    updated_at bigint not null
);
create index desk_requests_project on desk_requests (project_id, posted_at);
create index desk_requests_firm on desk_requests (enterprise_id, posted_at);
create index desk_requests_unit on desk_requests (unit_code, state);
create index desk_requests_state on desk_requests (state, step_due_at);

create table request_events (
    id text primary key,
    request_id text not null references desk_requests (id),
    seq bigint not null,
    action text not null,
    from_state text not null,
    to_state text not null,
    actor text not null,
    actor_role text not null,
    note text not null,
    data text not null,
    created_at bigint not null,
    unique (request_id, seq)
);

create table request_attachments (
    id text primary key,
    sha256 text not null,
    name text not null,
    content_type text not null,
    size bigint not null,
    request_id text not null references desk_requests (id),
    event_id text references request_events (id),
    uploaded_by text not null,
    created_at bigint not null
);
create index request_attachments_request on request_attachments (request_id);

create table request_documents (
    id text primary key,
    request_id text not null references desk_requests (id),
    event_id text references request_events (id),
    kind text not null check (kind in ('desk_plan')),
    office_code text not null references org_nodes (code),
    year bigint not null,
    serial bigint not null,
    number text not null,
    body text not null,
    created_at bigint not null,
    unique (office_code, kind, year, serial)
);
create index request_documents_request on request_documents (request_id);

-- 政商交往正面清单 / 负面清单: published, versioned documents; the newest version of each kind is in
-- force, the older ones stay readable.
create table conduct_lists (
    id text primary key,
    kind text not null check (kind in ('positive', 'negative')),
    version bigint not null,
    title text not null,
    -- one rule per line
    body text not null,
    published_by text not null,
    published_at bigint not null,
    unique (kind, version)
);
