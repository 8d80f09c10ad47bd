-- The settings generation: a counter that moves on with every change to the settings a rating
-- batch reads (the org tree, case offices, calendars, business hours, SLA policies, users and
-- their scopes, webhooks). Triggers move it, so no write path can forget to; the rating writer
-- keeps what it read between batches and reads again only when the counter has moved
-- (store::settings_cache).
create table settings_generation (
    id bigint primary key,
    n bigint not null
);
insert into settings_generation (id, n) values (1, 0);
-- PostgreSQL: one trigger per table, once per statement.
create function settings_changed() returns trigger language plpgsql as $$
begin
    update settings_generation set n = n + 1 where id = 1;
    return null;
end
$$;
create trigger org_nodes_settings after insert or update or delete or truncate on org_nodes for each statement execute function settings_changed();
create trigger org_closure_settings after insert or update or delete or truncate on org_closure for each statement execute function settings_changed();
create trigger case_offices_settings after insert or update or delete or truncate on case_offices for each statement execute function settings_changed();
create trigger calendar_years_settings after insert or update or delete or truncate on calendar_years for each statement execute function settings_changed();
create trigger calendar_overrides_settings after insert or update or delete or truncate on calendar_overrides for each statement execute function settings_changed();
create trigger business_hours_settings after insert or update or delete or truncate on business_hours for each statement execute function settings_changed();
create trigger sla_policies_settings after insert or update or delete or truncate on sla_policies for each statement execute function settings_changed();
create trigger users_settings after insert or update or delete or truncate on users for each statement execute function settings_changed();
create trigger user_scopes_settings after insert or update or delete or truncate on user_scopes for each statement execute function settings_changed();
create trigger webhooks_settings after insert or update or delete or truncate on webhooks for each statement execute function settings_changed();
