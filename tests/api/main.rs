//! The integration tests: the real server over a real database, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod alerts;
mod architecture;
mod audit;
mod bench;
mod calendar;
mod cases;
mod cli;
mod dashboard;
mod durability;
mod enterprise;
mod hardening;
mod import;
mod inbox;
mod jobs;
mod posters;
mod rating_pages;
mod ratings;
mod roles;
mod session;
mod settings;
mod shell;
mod sla;
mod supervision;
