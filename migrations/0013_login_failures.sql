-- Failed logins were counted per username, so five wrong passwords from anyone locked any account,
-- and every guess at an unknown username wrote a row. They are now counted per (username, client
-- address) and per client address (docs/security.md, "Logins"): a lock holds the guesser off, not
-- the account's owner elsewhere, and one address writes a bounded number of rows. The old counts
-- are short-lived state (an hour at most) and are not carried over.
drop table login_throttle;

create table login_failures (
    -- `pair:{address}:{username}` or `addr:{address}` (an IPv6 address by its /64 network)
    throttle_key text primary key,
    failures bigint not null,
    last_failure_at bigint not null,
    locked_until bigint not null
);
create index login_failures_last on login_failures (last_failure_at);
