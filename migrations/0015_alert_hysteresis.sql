-- Live alerts with hysteresis (docs/ratings.md, "Live alerts"): an episode closes only after its
-- window stayed well below the threshold for a while, a breach soon after a closing reopens the
-- same episode, and a unit's people are told at most once per interval. Each episode keeps its
-- history (opened, told, clearing, reopened, closed) in alert_events.
alter table alerts add column clear_since bigint;
alter table alerts add column notified_at bigint;
update alerts set notified_at = opened_at;

create table alert_events (
    id text primary key,
    alert_id text not null references alerts (id),
    at bigint not null,
    -- opened, notified, clearing, breaching, reopened, closed
    kind text not null,
    total bigint not null,
    unsatisfied bigint not null
);
create index alert_events_alert on alert_events (alert_id, at);
