-- SLA clocks and policies. A clock's next_check_at is when its colour next changes; the sweep
-- finds the clocks due for a look through the (state, next_check_at) index.

create table sla_clocks (
    id text primary key,
    subject text not null,
    unit_code text references org_nodes (code),
    handler text,
    clock text not null,
    started_at bigint not null,
    due_at bigint not null,
    state text not null check (state in ('running', 'paused', 'stopped')),
    paused_at bigint,
    colour text not null,
    next_check_at bigint,
    calendar_version text not null,
    provisional bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index sla_clocks_sweep on sla_clocks (state, next_check_at);
create index sla_clocks_unit on sla_clocks (unit_code, state, due_at);

-- Targets per case source, category and priority; thresholds in thousandths of the time.
create table sla_policies (
    source text not null,
    category text not null,
    priority text not null,
    acknowledge text not null,
    return_visit text not null,
    resolution text not null,
    blue_permille bigint not null,
    yellow_permille bigint not null,
    orange_permille bigint not null,
    primary key (source, category, priority)
);
