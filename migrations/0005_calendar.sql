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
