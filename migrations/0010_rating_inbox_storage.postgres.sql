-- Inbox rows live only until projected: store their bodies out of line without compressing them
-- (pglz took over a third of PostgreSQL's CPU under a rating burst; see 0010_rating_inbox_storage.sql).
alter table rating_inbox alter column body set storage external;
