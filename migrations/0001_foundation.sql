-- Foundation: the org tree, staff, users and scopes, sessions and tokens, the audit chain,
-- inspection teams. Portable SQL for SQLite and PostgreSQL: text ids, bigint integers,
-- timestamps in milliseconds since the Unix epoch, 0/1 flags.

create table org_nodes (
    code text primary key,
    parent_code text references org_nodes (code),
    kind text not null check (kind in ('region', 'department', 'unit', 'window')),
    name text not null,
    name_en text,
    address text,
    depth bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index org_nodes_parent on org_nodes (parent_code, code);
create index org_nodes_kind on org_nodes (kind, code);

-- Closure table: one row per (ancestor, descendant) pair, including each node with itself at
-- distance 0. Subtree and scope checks are indexed look-ups on it.
create table org_closure (
    ancestor text not null references org_nodes (code),
    descendant text not null references org_nodes (code),
    distance bigint not null,
    primary key (ancestor, descendant)
);
create index org_closure_descendant on org_closure (descendant, ancestor);

create table staff (
    staff_no text primary key,
    org_code text not null references org_nodes (code),
    name text not null,
    position text,
    created_at bigint not null,
    updated_at bigint not null
);
create index staff_org on staff (org_code);

create table users (
    id text primary key,
    username text not null unique,
    display_name text not null,
    role text not null check (role in ('admin', 'supervisor', 'inspector', 'unit_head', 'staff', 'enterprise')),
    password_hash text not null,
    locale text,
    disabled bigint not null default 0,
    created_at bigint not null,
    password_changed_at bigint not null
);

create table user_scopes (
    user_id text not null references users (id),
    org_code text not null references org_nodes (code),
    primary key (user_id, org_code)
);

create table sessions (
    id_hash text primary key,
    user_id text not null references users (id),
    csrf_token text not null,
    created_at bigint not null,
    last_seen_at bigint not null,
    expires_at bigint not null,
    client_addr text not null
);
create index sessions_user on sessions (user_id);

create table api_tokens (
    id text primary key,
    user_id text not null references users (id),
    name text not null,
    token_hash text not null unique,
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint
);
create index api_tokens_user on api_tokens (user_id);

-- Failed logins per username, for backoff.
create table login_throttle (
    username text primary key,
    failures bigint not null,
    last_failure_at bigint not null,
    locked_until bigint not null
);

-- The audit trail: append-only, hash-chained. audit_head holds the last row's seq and hash;
-- updating it first serialises appends, so the chain never forks.
create table audit_log (
    seq bigint primary key,
    at bigint not null,
    actor text not null,
    action text not null,
    target text not null,
    summary text not null,
    client_addr text not null,
    prev_hash text not null,
    hash text not null
);
create index audit_log_actor on audit_log (actor, seq);
create index audit_log_action on audit_log (action, seq);
create index audit_log_target on audit_log (target, seq);

create table audit_head (
    id bigint primary key check (id = 1),
    seq bigint not null,
    hash text not null
);
insert into audit_head (id, seq, hash)
values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- 作风巡查组: inspection teams, their members, and the org subtrees each is stationed in.
create table inspection_teams (
    code text primary key,
    name text not null,
    created_at bigint not null
);

create table inspection_team_members (
    team_code text not null references inspection_teams (code),
    member_no bigint not null,
    name text not null,
    position text not null,
    user_id text references users (id),
    primary key (team_code, member_no)
);

create table inspection_team_stations (
    team_code text not null references inspection_teams (code),
    org_code text not null references org_nodes (code),
    primary key (team_code, org_code)
);
