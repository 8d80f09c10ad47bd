-- PostgreSQL compresses long text with pglz by default, and a rating inbox row (up to 32 ratings
-- as JSON, ~10 KB) is long: the compression took over a third of PostgreSQL's CPU under a rating
-- burst, inside the commit the ratings wait for. The rows live only until projected, so they are
-- stored uncompressed there (0010_rating_inbox_storage.postgres.sql). SQLite stores text as it is:
-- nothing to change.
select 1;
