-- Rollups for dashboards and rankings: per org node (every ancestor of what was rated or of a
-- case's unit) and per day in China Standard Time (days since 1970-01-01), kept up to date in
-- the transactions that write ratings, appeal decisions, invitations and case events, so that
-- no dashboard scans raw rows.

create table rating_days (
    org_code text not null,
    day bigint not null,
    total bigint not null,
    satisfied bigint not null,
    neutral bigint not null,
    unsatisfied bigint not null,
    defaulted bigint not null,
    invited bigint not null,
    excluded bigint not null,
    primary key (org_code, day)
);

-- Unsatisfied ratings by hour of day (for the hour × weekday heatmap).
create table rating_hours (
    org_code text not null,
    day bigint not null,
    hour bigint not null,
    unsatisfied bigint not null,
    primary key (org_code, day, hour)
);

-- Reasons given with unsatisfied ratings.
create table rating_reasons (
    org_code text not null,
    day bigint not null,
    reason text not null,
    n bigint not null,
    primary key (org_code, day, reason)
);

-- Invitations issued (一事一评), for participation.
create table invitation_days (
    org_code text not null,
    day bigint not null,
    issued bigint not null,
    primary key (org_code, day)
);

-- Case events per day: each counter is a flow (how many happened that day).
create table case_days (
    org_code text not null,
    day bigint not null,
    opened bigint not null,
    acknowledged bigint not null,
    visited bigint not null,
    reached bigint not null,
    substantiated bigint not null,
    unsubstantiated bigint not null,
    ordered bigint not null,
    reported bigint not null,
    reported_on_time bigint not null,
    accepted bigint not null,
    reopened bigint not null,
    closed bigint not null,
    sent_back bigint not null,
    decided bigint not null,
    held bigint not null,
    primary key (org_code, day)
);
