-- Citizen ratings: signing keys, rating codes, per-region settings, ratings, single-use
-- invitations, appeals and their recorded exclusions, live alerts, the in-app inbox.

-- Keys that sign rating codes and invitations. Old keys stay, so printed posters keep working
-- after a rotation; new codes use the newest key.
create table signing_keys (
    id bigint primary key check (id between 1 and 255),
    secret text not null,
    created_at bigint not null
);

-- Per-region rating page settings, inherited by everything below the node.
create table rating_settings (
    org_code text primary key references org_nodes (code),
    scale text not null check (scale in ('two', 'five')),
    extra_reasons text not null,
    default_level bigint check (default_level between 1 and 5),
    default_after_days bigint check (default_after_days > 0),
    updated_at bigint not null
);

-- One live code per unit, window or staff member; revoked codes answer 410.
create table rating_codes (
    id text primary key,
    token text not null unique,
    org_code text not null references org_nodes (code),
    staff_no text references staff (staff_no),
    created_at bigint not null,
    revoked_at bigint,
    replaced_by text
);
create index rating_codes_org on rating_codes (org_code, revoked_at);

create table invitations (
    id text primary key,
    token text not null unique,
    org_code text not null references org_nodes (code),
    unit_code text not null references org_nodes (code),
    staff_no text references staff (staff_no),
    transaction_ref text not null,
    created_by text not null,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint,
    rating_id text
);
create unique index invitations_transaction on invitations (unit_code, transaction_ref);
create index invitations_open on invitations (used_at, expires_at);

-- Ratings are never updated or deleted. An upheld appeal is recorded in rating_exclusions.
create table ratings (
    id text primary key,
    code_id text references rating_codes (id),
    invitation_id text references invitations (id),
    org_code text not null references org_nodes (code),
    unit_code text not null references org_nodes (code),
    staff_no text,
    scale text not null,
    level bigint not null check (level between 1 and 5),
    outcome text not null check (outcome in ('satisfied', 'neutral', 'unsatisfied')),
    reasons text not null,
    comment text,
    phone_enc text,
    phone_masked text,
    device_hash text not null,
    address_hash text not null,
    flags text not null,
    defaulted bigint not null,
    source text not null check (source in ('qr', 'invitation', 'api', 'default')),
    created_at bigint not null
);
create index ratings_unit_time on ratings (unit_code, created_at);
create index ratings_time on ratings (created_at);

create table appeals (
    id text primary key,
    rating_id text not null unique references ratings (id),
    unit_code text not null references org_nodes (code),
    reason text not null,
    filed_by text not null,
    filed_at bigint not null,
    state text not null check (state in ('pending', 'upheld', 'rejected')),
    decided_by text,
    decided_at bigint,
    decision_note text
);
create index appeals_state on appeals (state, filed_at);

create table rating_exclusions (
    rating_id text primary key references ratings (id),
    appeal_id text not null references appeals (id),
    excluded_at bigint not null
);

-- Live alerts: one row per episode of a unit breaching the alert rule.
create table alerts (
    id text primary key,
    unit_code text not null references org_nodes (code),
    opened_at bigint not null,
    closed_at bigint,
    total bigint not null,
    unsatisfied bigint not null
);
create index alerts_unit on alerts (unit_code, opened_at);
-- At most one open episode per unit, even with several server processes.
create unique index alerts_open on alerts (unit_code) where closed_at is null;

-- The in-app inbox.
create table inbox (
    id text primary key,
    user_id text not null references users (id),
    kind text not null,
    title text not null,
    body text not null,
    link text not null,
    created_at bigint not null,
    read_at bigint
);
create index inbox_user on inbox (user_id, created_at);
