-- The audit chain's hashes become keyed (HMAC-SHA-256 under a key derived from the server secret,
-- which is not in the database; docs/security.md, "The audit trail"). A chain written before holds
-- plain SHA-256 hashes: the first server start after this migration checks it and re-keys it in one
-- transaction, then sets `keyed`. Rows are appended with the hashing the head says, so a chain is
-- never half one, half the other.
alter table audit_head add column keyed bigint not null default 0;
