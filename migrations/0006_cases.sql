-- The closed loop: cases, their timeline, evidence, numbered documents and the accountability
-- register. A case changes only by a guarded update (state and version) in the transaction
-- that writes its event, audit row and notifications.

-- Which office supervises a subtree's cases; the nearest configured ancestor wins, and
-- without one a case goes to the unit's region (the top-level node above it).
create table case_offices (
    org_code text primary key references org_nodes (code),
    office_code text not null references org_nodes (code),
    updated_at bigint not null
);

create table cases (
    id text primary key,
    source text not null,
    category text not null,
    priority text not null,
    title text not null,
    description text not null,
    unit_code text not null references org_nodes (code),
    office_code text not null references org_nodes (code),
    rating_id text unique references ratings (id),
    state text not null,
    verdict text,
    version bigint not null,
    reopened bigint not null,
    created_by text not null,
    created_at bigint not null,
    updated_at bigint not null,
    closed_at bigint,
    -- The whole case's clock (the policy's resolution time) and the current step's clock.
    due_at bigint not null,
    clock_id text,
    step text,
    step_due_at bigint,
    step_clock_id text,
    -- The rectification deadline in force, and whether the last report came before it.
    order_due_at bigint,
    reported_on_time bigint,
    extension_days bigint,
    extension_reason text
);
create index cases_unit on cases (unit_code, state);
create index cases_office on cases (office_code, state);
create index cases_due on cases (state, step_due_at);

create table case_events (
    id text primary key,
    case_id text not null references cases (id),
    seq bigint not null,
    action text not null,
    from_state text not null,
    to_state text not null,
    actor text not null,
    actor_role text not null,
    note text not null,
    data text not null,
    created_at bigint not null,
    unique (case_id, seq)
);

-- Evidence files, stored on disk by content hash; the row says which case and step they prove.
create table attachments (
    id text primary key,
    sha256 text not null,
    name text not null,
    content_type text not null,
    size bigint not null,
    case_id text not null references cases (id),
    event_id text references case_events (id),
    uploaded_by text not null,
    created_at bigint not null
);
create index attachments_case on attachments (case_id);

-- Serial numbers of documents per issuing office, kind and year.
create table document_serials (
    office_code text not null,
    kind text not null,
    year bigint not null,
    last bigint not null,
    primary key (office_code, kind, year)
);

create table case_documents (
    id text primary key,
    case_id text not null references cases (id),
    event_id text references case_events (id),
    kind text not null check (kind in ('order', 'feedback')),
    office_code text not null references org_nodes (code),
    year bigint not null,
    serial bigint not null,
    number text not null,
    body text not null,
    created_at bigint not null,
    unique (office_code, kind, year, serial)
);
create index case_documents_case on case_documents (case_id);

-- One row per person (or, for a decision of no accountability, per decision).
create table accountability (
    id text primary key,
    case_id text not null references cases (id),
    event_id text not null references case_events (id),
    kind text not null,
    subject text not null check (subject in ('staff', 'unit_head', 'none')),
    person_name text,
    staff_no text,
    unit_code text not null references org_nodes (code),
    reason text not null,
    decided_by text not null,
    decided_at bigint not null
);
create index accountability_time on accountability (decided_at);
create index accountability_unit on accountability (unit_code, decided_at);
