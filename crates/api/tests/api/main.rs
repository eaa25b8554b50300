//! Behavioural tests of the timesheet API, over real HTTP, each scenario run on
//! SQLite and on PostgreSQL (see `support::POSTGRES_ENV`).

mod support;

mod approvals;
mod auth;
mod concurrency;
mod entries;
mod history;
mod migrations;
mod openapi;
mod people;
mod properties;
mod providers;
mod reliability;
mod settings;
mod weeks;
