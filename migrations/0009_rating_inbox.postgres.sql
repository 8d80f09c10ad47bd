-- The rating inbox (see 0009_rating_inbox.sql): the same table with a bigint sequence.
create table rating_inbox (
    seq bigserial primary key,
    received_at bigint not null,
    ratings bigint not null,
    body text not null,
    error text
);
