//! The error of a service operation: either an expected failure the caller can act on
//! ([`AppError`], shown to the user) or an unexpected one (logged once, shown as a 500).

use domain::AppError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule was broken or the input was wrong; the message is for the user.
    #[error("{0}")]
    App(#[from] AppError),
    /// Anything else: a database failure, a bug. Never shown to users as is.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            // A pool that cannot hand out a connection means the database is unreachable:
            // the caller should retry later (503), it did nothing wrong.
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::App(AppError::unavailable(
                    "The database is not reachable at the moment. Please try again shortly.",
                ))
            }
            // A uniqueness rule the service checked a moment earlier, broken by a request
            // that ran at the same time (PostgreSQL runs transactions side by side): a
            // conflict with what is there now (409), not a fault of ours.
            sqlx::Error::Database(e) if e.is_unique_violation() => {
                tracing::info!(constraint = e.constraint(), "concurrent duplicate refused");
                Error::App(AppError::conflict(
                    "This was saved by someone else at the same moment. Reload and try again.",
                ))
            }
            other => Error::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<Error> for AppError {
    fn from(err: Error) -> Self {
        match err {
            Error::App(app) => app,
            Error::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "unexpected failure");
                AppError::internal()
            }
        }
    }
}
