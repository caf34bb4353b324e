//! One module per page or group of pages.

pub mod account;
pub mod admin;
pub mod agent;
pub mod error;
pub mod home;
pub mod login;
pub mod not_found;
pub mod password;
pub mod task;
pub mod tickets;
