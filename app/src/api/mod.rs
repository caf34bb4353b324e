//! Server functions, grouped by domain. Each is a thin adapter: it authenticates, then calls
//! one service operation. They are public endpoints, so each checks authorization itself.

pub mod account;
pub mod admin;
pub mod comments;
pub mod helpdesk;
pub mod notifications;
pub mod session;
pub mod tasks;
pub mod tickets;
pub mod workflows;

/// A form's checkbox: sent (with any value but "false") when ticked, absent when not.
pub fn ticked(value: Option<String>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false")
}
