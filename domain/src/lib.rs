//! The vocabulary of TTS shared by every part of the program: the server, the services and
//! the WebAssembly front end. Nothing here does I/O, so it compiles for the browser too.

pub mod account;
pub mod error;
pub mod roles;
pub mod session;
pub mod status;
pub mod tickets;
pub mod users;
pub mod workflow;

use serde::{Deserialize, Serialize};

pub use error::{AppError, ErrorKind};
pub use roles::{RoleGrant, System, SystemRole};
pub use session::SessionUser;

/// A page of a list, in the shape of SPEC.md section 3 (`next`/`previous` are filled by the
/// REST layer, which knows the URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub count: i64,
    /// `count` is a lower bound: counting stopped [`COUNT_AHEAD`] rows past this page, as
    /// counting every match of a broad filter costs more than the page itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub count_capped: bool,
    pub results: Vec<T>,
}

/// How many rows past the requested page a list counts at most.
pub const COUNT_AHEAD: i64 = 10_000;
