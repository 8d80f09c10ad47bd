-- Live-alert tallies: the ratings that count for live alerts (unflagged, not defaulted, not
-- excluded by an appeal), per unit and 30-second bucket (the bucket's start, ms). Every server
-- process adds the ratings it receives and sums a unit's buckets within the rule's window, so
-- ratings received by several processes count together (docs/ratings.md, "Live alerts").
-- Buckets older than the window are deleted every minute.
create table alert_tallies (
    unit_code text not null,
    bucket bigint not null,
    total bigint not null,
    unsatisfied bigint not null,
    primary key (unit_code, bucket)
);
create index alert_tallies_bucket on alert_tallies (bucket);
