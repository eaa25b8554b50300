//! The Timesheets domain, shared by the timesheet API and the desktop app.
//!
//! This crate holds what both sides must agree on, so that they can never drift:
//!
//! - [`scope`]: the OAuth scopes that gate every action, and parsing of granted scope sets;
//! - [`entry`]: a timesheet entry, its status, and the request and response bodies of the API;
//! - [`person`]: a person's verified name and email, and the ID token that proves them;
//! - [`hours`]: hours in quarter-hour steps, the only unit the grid and the API accept;
//! - [`week`]: ISO weeks (Monday first), the span the grid shows;
//! - [`validation`]: the row rules, each failure naming its field;
//! - [`rfc3339`]: dates and times written as the API writes them, quickly.
//!
//! It never does I/O: no network, no database, no clock except where a caller passes one in.
#![deny(missing_docs)]

pub mod entry;
pub mod hours;
pub mod person;
pub mod rfc3339;
pub mod scope;
pub mod settings;
pub mod validation;
pub mod week;

pub use entry::{
    Decision, DecisionRequest, Entry, EntryHistory, EntryList, EntryPatch, ErrorBody, HistoryEvent,
    NewEntry, Status,
};
pub use hours::Hours;
pub use person::{IdTokenPresentation, Person};
pub use scope::{Scope, Scopes};
pub use settings::Settings;
pub use validation::{FieldError, Limits};
pub use week::Week;
