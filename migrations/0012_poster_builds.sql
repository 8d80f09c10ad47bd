-- Poster builds started from the admin page (docs/ratings.md, "Codes and posters"): a whole city's
-- posters take seconds to draw, so the page starts a build and shows its progress. The row is the
-- build's state, readable by every server process; the finished file lives under `files_dir`
-- (posters/{id}.html or .zip) and is deleted with its row a day after the build ends.
create table poster_builds (
    id text primary key,
    requested_by text not null,
    root_code text not null,
    paper text not null,
    format text not null,
    -- queued (waiting for another build of the same process), running, done or failed
    state text not null,
    -- posters to draw (0 until they are listed) and drawn so far
    total bigint not null,
    drawn bigint not null,
    -- the file's size once done; the reason once failed
    size bigint,
    error text,
    created_at bigint not null,
    -- written at least every second while the build is queued or running: an older value means
    -- the process that ran it stopped, and the build is shown as interrupted
    updated_at bigint not null,
    finished_at bigint
);
create index poster_builds_by_requester on poster_builds (requested_by, created_at);
