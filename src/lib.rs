//! Pingyi (评议): public-service satisfaction ratings and the closed loop from complaint to fix.
//!
//! The folders are the architecture: [`domain`] holds pure rules (no I/O), [`store`] the SQL
//! for SQLite and PostgreSQL, [`web`] the HTTP layer, [`jobs`] background work. [`startup`]
//! wires them together for `pingyi serve` and for the tests.

pub mod bench;
pub mod calendar_data;
pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_enterprise;
pub mod demo_history;
pub mod demo_supervision;
pub mod domain;
pub mod i18n;
pub mod imports;
pub mod ingest;
pub mod jobs;
pub mod metrics;
pub mod qr;
pub mod secrets;
pub mod startup;
pub mod store;
pub mod web;
