-- Durable jobs (the outbox of notifications among them), webhook subscriptions, users' email.

create table jobs (
    id text primary key,
    kind text not null,
    payload text not null,
    -- Enqueuing the same key twice keeps one job: enqueue is idempotent.
    dedupe_key text unique,
    run_at bigint not null,
    attempts bigint not null,
    max_attempts bigint not null,
    state text not null check (state in ('queued', 'running', 'done', 'dead')),
    locked_by text,
    locked_until bigint,
    last_error text,
    created_at bigint not null,
    updated_at bigint not null
);
create index jobs_due on jobs (state, run_at);

create table webhooks (
    id text primary key,
    url text not null,
    secret text not null,
    events text not null,
    active bigint not null,
    created_at bigint not null
);

alter table users add column email text;
