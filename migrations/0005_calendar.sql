-- Official calendar years imported after the release (a new year's notice): they overlay the
-- data compiled into the binary.
create table calendar_years (
    year bigint primary key,
    notice text not null,
    holidays text not null,
    workdays text not null,
    imported_by text not null,
    imported_at bigint not null
);

-- Regional overrides: a region's own holidays (e.g. a county's ethnic festival) or working
-- days, applying to everything below the node.
create table calendar_overrides (
    org_code text not null references org_nodes (code),
    day text not null,
    kind text not null check (kind in ('holiday', 'adjusted_workday', 'workday')),
    name text not null,
    created_by text not null,
    created_at bigint not null,
    primary key (org_code, day)
);

-- Business hours per unit or service centre (JSON: open, close, saturday_open, saturday_close,
-- cutoff), inherited by everything below the node; 9:00–17:00 on working days without one.
create table business_hours (
    org_code text primary key references org_nodes (code),
    hours text not null,
    updated_at bigint not null
);
