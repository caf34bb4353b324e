//! The vocabulary of TTS shared by every part of the program: the server, the services and
//! the WebAssembly front end. Nothing here does I/O, so it compiles for the browser too.

/// An enum stored and sent as snake_case text, with `ALL`, `as_str`, a readable `label`,
/// `Display` and a forgiving `FromStr`. Defined before the modules that use it.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal / $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The name people read.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Parses the wire name in any letter case (`"HIGH"`, `"High"`, `"high"`); spaces and
        /// dashes count as underscores (`"In Progress"`).
        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(value: &str) -> Result<Self, String> {
                let normal = value.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                match normal.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

pub mod account;
pub mod audit;
pub mod comments;
pub mod error;
pub mod links;
pub mod notifications;
pub mod roles;
pub mod session;
pub mod status;
pub mod tasks;
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
///
/// A thousand: nobody pages forty pages deep (past that, filters and search are the way in),
/// and on PostgreSQL counting 10,000 rows past the page took 0.8 ms of the database's time
/// on every list, five times the page itself (BENCHMARKS.md, 2026-11-28).
pub const COUNT_AHEAD: i64 = 1_000;
