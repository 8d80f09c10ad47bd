-- The rating inbox: under load the rating writer commits each batch of ratings as one row
-- here (its body a JSON array of the whole validated ratings, each with its id, time and abuse
-- flags; `ratings` how many) and answers 201; the writer then projects the rows into ratings,
-- rollups, cases and the audit log in its quiet moments, deleting each row in the same
-- transaction that writes its ratings (see docs/ratings.md, "Ingestion under load").
create table rating_inbox (
    seq integer primary key,
    received_at bigint not null,
    ratings bigint not null,
    body text not null,
    -- Set when the body cannot be read back (a rating kept, never dropped, for an operator).
    error text
);
