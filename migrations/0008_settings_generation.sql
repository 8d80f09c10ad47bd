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
-- SQLite: one trigger per table and kind of change, run for each row.
create trigger org_nodes_settings_i after insert on org_nodes begin update settings_generation set n = n + 1 where id = 1; end;
create trigger org_nodes_settings_u after update on org_nodes begin update settings_generation set n = n + 1 where id = 1; end;
create trigger org_nodes_settings_d after delete on org_nodes begin update settings_generation set n = n + 1 where id = 1; end;
create trigger org_closure_settings_i after insert on org_closure begin update settings_generation set n = n + 1 where id = 1; end;
create trigger org_closure_settings_u after update on org_closure begin update settings_generation set n = n + 1 where id = 1; end;
create trigger org_closure_settings_d after delete on org_closure begin update settings_generation set n = n + 1 where id = 1; end;
create trigger case_offices_settings_i after insert on case_offices begin update settings_generation set n = n + 1 where id = 1; end;
create trigger case_offices_settings_u after update on case_offices begin update settings_generation set n = n + 1 where id = 1; end;
create trigger case_offices_settings_d after delete on case_offices begin update settings_generation set n = n + 1 where id = 1; end;
create trigger calendar_years_settings_i after insert on calendar_years begin update settings_generation set n = n + 1 where id = 1; end;
create trigger calendar_years_settings_u after update on calendar_years begin update settings_generation set n = n + 1 where id = 1; end;
create trigger calendar_years_settings_d after delete on calendar_years begin update settings_generation set n = n + 1 where id = 1; end;
create trigger calendar_overrides_settings_i after insert on calendar_overrides begin update settings_generation set n = n + 1 where id = 1; end;
create trigger calendar_overrides_settings_u after update on calendar_overrides begin update settings_generation set n = n + 1 where id = 1; end;
create trigger calendar_overrides_settings_d after delete on calendar_overrides begin update settings_generation set n = n + 1 where id = 1; end;
create trigger business_hours_settings_i after insert on business_hours begin update settings_generation set n = n + 1 where id = 1; end;
create trigger business_hours_settings_u after update on business_hours begin update settings_generation set n = n + 1 where id = 1; end;
create trigger business_hours_settings_d after delete on business_hours begin update settings_generation set n = n + 1 where id = 1; end;
create trigger sla_policies_settings_i after insert on sla_policies begin update settings_generation set n = n + 1 where id = 1; end;
create trigger sla_policies_settings_u after update on sla_policies begin update settings_generation set n = n + 1 where id = 1; end;
create trigger sla_policies_settings_d after delete on sla_policies begin update settings_generation set n = n + 1 where id = 1; end;
create trigger users_settings_i after insert on users begin update settings_generation set n = n + 1 where id = 1; end;
create trigger users_settings_u after update on users begin update settings_generation set n = n + 1 where id = 1; end;
create trigger users_settings_d after delete on users begin update settings_generation set n = n + 1 where id = 1; end;
create trigger user_scopes_settings_i after insert on user_scopes begin update settings_generation set n = n + 1 where id = 1; end;
create trigger user_scopes_settings_u after update on user_scopes begin update settings_generation set n = n + 1 where id = 1; end;
create trigger user_scopes_settings_d after delete on user_scopes begin update settings_generation set n = n + 1 where id = 1; end;
create trigger webhooks_settings_i after insert on webhooks begin update settings_generation set n = n + 1 where id = 1; end;
create trigger webhooks_settings_u after update on webhooks begin update settings_generation set n = n + 1 where id = 1; end;
create trigger webhooks_settings_d after delete on webhooks begin update settings_generation set n = n + 1 where id = 1; end;
