-- Idempotent rating submission (docs/ratings.md, "Retries"): a rating sent with an Idempotency-Key
-- (the JSON API's header, the rating page's hidden field) records the key with the answer it got,
-- in the rating's own transaction. A retry with the same key and code within 24 hours gets that
-- answer back and stores nothing new. Rows older than a day are deleted by the minute sweep.
create table rating_requests (
    -- peppered hash of the code and the key
    key_hash text primary key,
    rating_id text not null,
    -- the first answer's body (JSON)
    answer text not null,
    created_at bigint not null
);
create index rating_requests_created on rating_requests (created_at);
