-- The fingerprint of the server secret the data is written with: an HMAC of a fixed text under a
-- key derived from the secret, which tells nothing of the secret itself. A server started with
-- another secret would not read the phone numbers it finds (they are sealed with the secret), so
-- it refuses to start instead of silently showing none (docs/security.md, "The server secret").
create table secret_fingerprint (
    id bigint primary key check (id = 1),
    fingerprint text not null,
    recorded_at bigint not null
);
