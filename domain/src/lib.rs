//! The vocabulary of TTS shared by every part of the program: the server, the services and
//! the WebAssembly front end. Nothing here does I/O, so it compiles for the browser too.

pub mod account;
pub mod error;
pub mod roles;
pub mod session;
pub mod status;
pub mod users;

pub use error::{AppError, ErrorKind};
pub use roles::{RoleGrant, System, SystemRole};
pub use session::SessionUser;
