-- Official calendar years imported after the release (a new year's notice): they overlay the
-- data compiled into the binary.
create table calendar_years (
    year bigint primary key,
    notice text not null,
    holidays text not null,
    workdays text not null,
    imported_by text not null,
    imported_at bigint not null
);
