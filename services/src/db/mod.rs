//! Data access for both backends.
//!
//! TTS runs on SQLite (the embedded default) and on PostgreSQL (clusters). Every query is
//! written once, with `$1` placeholders that both understand, and compiled twice by
//! [`on_conn!`](crate::on_conn): once against `SqliteConnection`, once against `PgConnection`,
//! with native types on each (timestamps are `TIMESTAMPTZ` on PostgreSQL and text on SQLite,
//! booleans are booleans). A query whose Rust types do not work on both backends does not
//! compile; a query whose SQL does not work on both fails the test suite, which runs on both.
//! The few places where the dialects must differ (full-text search, `SKIP LOCKED`) match on
//! [`Backend`] explicitly, next to each other.
//!
//! Migrations are kept per backend in `migrations/sqlite` and `migrations/postgres`, with the
//! same file names; a test checks that both schemas have the same tables and columns.

pub mod api_keys;
pub mod audit;
pub mod comments;
pub mod email;
pub mod notifications;
pub mod outbox;
pub mod security;
pub mod sessions;
pub mod tasks;
pub mod tickets;
pub mod users;
pub mod workflow_roles;
pub mod workflows;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// Runs the same query code against whichever backend `conn` holds.
///
/// `on_conn!(conn, c => sqlx::query("…").fetch_one(c).await)`, where `conn` is a
/// `&mut Conn<'_>` and `c` becomes a `&mut SqliteConnection` or a `&mut PgConnection`.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite(inner) => {
                let $c: &mut ::sqlx::SqliteConnection = &mut **inner;
                $body
            }
            $crate::db::Conn::Postgres(inner) => {
                let $c: &mut ::sqlx::PgConnection = &mut **inner;
                $body
            }
        }
    };
}

/// Runs a statement that returns no rows against either backend; evaluates to the number of
/// rows it changed. `execute!(conn, sqlx::query("UPDATE …").bind(x))`.
#[macro_export]
macro_rules! execute {
    ($conn:expr, $query:expr) => {
        $crate::on_conn!($conn, c => $query.execute(c).await.map(|done| done.rows_affected()))
    };
}

/// A value bound to a `$N` placeholder of a query built at run time.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
}

/// Binds `args` (a slice of [`Arg`]) in order to a query on either backend (inside
/// `on_conn!`).
#[macro_export]
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::db::Arg::Int(v) => query.bind(*v),
                $crate::db::Arg::Text(v) => query.bind(v.as_str()),
                $crate::db::Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// Runs a statement that takes no arguments and returns nothing (savepoints).
pub(crate) async fn execute_plain(conn: &mut Conn<'_>, sql: &'static str) -> sqlx::Result<()> {
    crate::execute!(conn, sqlx::query(sql))?;
    Ok(())
}

/// Runs a transaction's `BEGIN` to its end even when the caller stops waiting.
///
/// sqlx 0.8 is not safe to cancel between sending `BEGIN` and its answer (sqlx issues 3932
/// and 4393): the connection goes back to the pool inside a transaction nobody will end. On
/// SQLite that transaction holds the write lock, so every other writer waits out the busy
/// timeout, and the next `BEGIN IMMEDIATE` on that connection fails ("begin_with at non-zero
/// transaction depth"). The RabbitMQ link cancels its outbox relay whenever the connection
/// drops, which is how a CI run met it. Here the `BEGIN` runs on a task of its own: a caller
/// that gives up drops only the task's answer, and a transaction that was begun anyway is
/// dropped there, which rolls it back.
async fn begin_uncancelled<T: Send + 'static>(
    begin: impl std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'static,
) -> Result<T, sqlx::Error> {
    tokio::spawn(begin).await.unwrap_or_else(|err| {
        // The task panicked, or the runtime is shutting down.
        tracing::error!(error = %err, "a transaction's BEGIN did not finish");
        Err(sqlx::Error::WorkerCrashed)
    })
}

/// SQLite's "database is locked" (`SQLITE_BUSY`, and its snapshot variant).
fn is_sqlite_busy(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "5" || code == "517")
}

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A pool of connections to the project's database.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, WriteTurns),
    Postgres(PgPool),
}

/// This process's writers to one SQLite file, taking turns in arrival order.
///
/// SQLite lets one transaction write at a time, and one that finds the lock taken polls for
/// it, sleeping between tries (1, 2, 5, 10 … 100 ms): with two busy writers (the ticket
/// writer and the background runner) each handover of the lock cost up to tens of
/// milliseconds of nobody writing. Writers of this process queue here instead and are
/// handed the lock the moment it is free; SQLite's own waiting remains only between
/// processes sharing the file.
#[derive(Clone, Debug, Default)]
pub struct WriteTurns(std::sync::Arc<tokio::sync::Mutex<()>>);

/// How long SQLite waits for another connection's lock before it answers "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a writer waits for its turn, as long as SQLite's own busy timeout.
const WRITE_TURN_TIMEOUT: Duration = BUSY_TIMEOUT;

/// How long a PostgreSQL connection may sit idle in the pool before it is pinged on its way
/// out (HikariCP skips its check for connections used in the last half second, alike).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// A borrowed connection, from a pool or inside a transaction; what every query takes.
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// A connection taken from the pool for a few reads.
pub enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// A transaction: the changes made through [`Tx::conn`] land together on [`Tx::commit`] or not
/// at all (dropping it rolls back).
pub enum Tx {
    /// The transaction, and this process's write turn, given back after it (fields drop in
    /// order).
    Sqlite(
        Transaction<'static, Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(Transaction<'static, Postgres>),
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Pooled {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t, _) => Conn::Sqlite(t),
            Tx::Postgres(t) => Conn::Postgres(t),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// A `postgres://` or `sqlite://` URL.
    pub url: String,
    /// The pool's size; `None` for the backend's default: 10 on PostgreSQL, and on SQLite
    /// twice the processor cores, at least 4 ([`sqlite_pool_size`]).
    pub max_connections: Option<u32>,
    /// How long to wait for a connection (at start, and for each request later).
    pub connect_timeout: Duration,
}

/// A database that cannot be opened, worded for the one line the program prints before exiting.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL is not a valid database URL ({0}); expected postgres://… or sqlite://…")]
    InvalidUrl(String),
    #[error("could not connect to {backend} at {target}: {cause}")]
    Unreachable {
        backend: &'static str,
        target: String,
        cause: String,
    },
    #[error("could not migrate the database: {0}")]
    Migration(String),
}

/// The SQLite pool's default size: twice the processor cores, at least 4. Each connection
/// is a thread of its own, and a SQLite read is work for a processor (the file is in memory
/// once warm): more connections than cores do not read more at once, they share the cores,
/// and every read in progress takes longer; with fewer, a request beyond them waits its turn
/// and then runs at full speed. Measured on 2 cores, 16 clients searching 100,000 tickets:
/// p99 6-7 ms with 4 connections against 8-11 ms with 10, the same throughput
/// (BENCHMARKS.md). Writers wait for their turn before they take a connection
/// ([`WriteTurns`]), so waiting writers do not crowd the readers out.
pub fn sqlite_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

impl Db {
    /// Opens a pool for `options.url`, checking that the database answers.
    pub async fn connect(options: &DbOptions) -> Result<Db, OpenError> {
        let url = options.url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)
                .map_err(|e| OpenError::InvalidUrl(first_line(&e.to_string())))?;
            let target = format!("{}:{}", connect.get_host(), connect.get_port());
            Self::connect_postgres(connect, options)
                .await
                .map_err(|e| OpenError::Unreachable {
                    backend: "PostgreSQL",
                    target,
                    cause: describe_connect_error(&e),
                })
        } else if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| OpenError::InvalidUrl(first_line(&e.to_string())))?;
            let target = connect.get_filename().display().to_string();
            Self::connect_sqlite(connect, options)
                .await
                .map_err(|e| OpenError::Unreachable {
                    backend: "SQLite",
                    target,
                    cause: describe_connect_error(&e),
                })
        } else {
            Err(OpenError::InvalidUrl(format!(
                "unknown scheme in '{}'",
                redact_url(url)
            )))
        }
    }

    async fn connect_postgres(
        connect: PgConnectOptions,
        options: &DbOptions,
    ) -> Result<Db, sqlx::Error> {
        let connect = connect.application_name("tts");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(10))
            // A connection used a moment ago is handed out as it is; one idle for longer is
            // pinged first, in case the server or a proxy closed it meanwhile. Pinging every
            // time (sqlx's default) is one more round trip per request.
            .test_before_acquire(false)
            .before_acquire(|conn, connection| {
                Box::pin(async move {
                    if connection.idle_for >= PING_WHEN_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await?;
        Ok(Db::Postgres(pool))
    }

    async fn connect_sqlite(
        connect: SqliteConnectOptions,
        options: &DbOptions,
    ) -> Result<Db, sqlx::Error> {
        // WAL lets readers work while one writer commits; NORMAL synchronous is durable across
        // process crashes in WAL mode (only a power loss may drop the last commits).
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory")
            // 16 MB of pages per connection, not SQLite's 2 MB: the list's exact count walks a
            // whole index of `tickets` (481 pages at 137,000 tickets), and once that no longer
            // fitted beside the page's own pages every count read it all again from the file
            // (newest 25 after a create burst: 1,970 / 2,028 -> 4,398 / 3,739 per s).
            .pragma("cache_size", "-16384")
            // Checkpoints are the background checkpointer's, not the writers' (see there).
            .pragma("wal_autocheckpoint", "0");
        // No test before each acquire: an embedded database's connection cannot drop, and
        // the test is a round trip to the connection's thread on every request.
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.unwrap_or_else(sqlite_pool_size))
            .test_before_acquire(false)
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone())
            .await?;
        let checkpointer = sqlx::ConnectOptions::connect(&connect).await?;
        let turns = WriteTurns::default();
        tokio::spawn(checkpoint_in_background(
            checkpointer,
            pool.clone(),
            turns.clone(),
        ));
        Ok(Db::Sqlite(pool, turns))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Brings the schema up to date. Safe to run from several processes at once: sqlx takes an
    /// advisory lock on PostgreSQL, and SQLite serialises writers.
    pub async fn migrate(&self) -> Result<(), OpenError> {
        let outcome = match self {
            Db::Sqlite(pool, _) => sqlx::migrate!("../migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await,
        };
        outcome.map_err(|e| {
            OpenError::Migration(match e {
                sqlx::migrate::MigrateError::VersionMissing(version) => format!(
                    "the database has migration {version} applied, which this version of TTS \
                     does not know; it was created by a newer TTS"
                ),
                other => first_line(&other.to_string()),
            })
        })
    }

    pub async fn acquire(&self) -> Result<Pooled, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool, _) => Pooled::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => Pooled::Postgres(pool.acquire().await?),
        })
    }

    /// Starts a transaction.
    ///
    /// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`): a deferred
    /// transaction that reads first and writes later cannot wait for another writer (SQLite
    /// answers "database is locked" at once to avoid a deadlock), while an immediate one
    /// waits its turn within the busy timeout. Transactions here are for writing; reads use
    /// [`Db::acquire`].
    ///
    /// Safe to cancel: the `BEGIN` runs on a task of its own (see [`begin_uncancelled`]).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool, turns) => {
                // The turn first, then a connection: waiting writers hold no connection
                // that readers could use.
                let turn = tokio::time::timeout(WRITE_TURN_TIMEOUT, turns.0.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                let pool = pool.clone();
                let tx = begin_uncancelled(async move {
                    // A connection can still hold a read snapshot from its last query; SQLite
                    // then refuses the write lock at once rather than wait (to avoid a
                    // deadlock). Such refusals are transient: try again shortly, for up to
                    // about five seconds.
                    let mut attempt = 0u64;
                    loop {
                        match pool.begin_with("BEGIN IMMEDIATE").await {
                            Err(err) if is_sqlite_busy(&err) && attempt < 60 => {
                                attempt += 1;
                                tokio::time::sleep(Duration::from_millis(10 + attempt * 2)).await;
                            }
                            outcome => break outcome,
                        }
                    }
                })
                .await?;
                Tx::Sqlite(tx, turn)
            }
            Db::Postgres(pool) => {
                let pool = pool.clone();
                Tx::Postgres(begin_uncancelled(async move { pool.begin().await }).await?)
            }
        })
    }

    /// Whether the database answers a trivial query now (for `/ready/`).
    pub async fn ping(&self) -> bool {
        let answer = async {
            let mut pooled = self.acquire().await?;
            let mut conn = pooled.conn();
            crate::execute!(&mut conn, sqlx::query("SELECT 1"))
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), answer).await,
            Ok(Ok(_))
        )
    }

    /// Asks SQLite to refresh its query planner statistics (recommended periodically for
    /// long-lived connections); PostgreSQL's autovacuum does this by itself.
    pub async fn optimize(&self) -> anyhow::Result<()> {
        if let Db::Sqlite(pool, _) = self {
            sqlx::query("PRAGMA optimize")
                .execute(pool)
                .await
                .context("PRAGMA optimize")?;
        }
        Ok(())
    }

    /// Merges SQLite's full-text indexes back into one b-tree each, a bounded step at a time
    /// (each step a short write transaction, so submissions are not held up); the steps that
    /// did work. Many small writes (a burst of submissions, saved in batches) leave an index
    /// of many small segments, and every search reads them all: after 750 batches of 64
    /// tickets, a search for a word read 3–4× slower until merged (12 steps, 0.17 s, on the
    /// bench's 150,000 tickets). PostgreSQL's GIN indexes tidy their own pending lists.
    pub async fn tidy_search_indexes(&self) -> anyhow::Result<usize> {
        /// Pages written per step; a step is a few milliseconds.
        const STEP: &str = "-500";
        /// An index of a million tickets merges in well under this.
        const MOST_STEPS: usize = 1_000;
        if self.backend() != Backend::Sqlite {
            return Ok(0);
        }
        let mut steps = 0;
        for table in ["tickets_fts", "comments_fts"] {
            // A negative page count merges as few as two segments, across levels, like
            // FTS5's 'optimize' but in steps; fewer than 2 changes means nothing was left.
            let merge = format!("INSERT INTO {table}({table}, rank) VALUES('merge', {STEP})");
            for _ in 0..MOST_STEPS {
                let mut tx = self.begin().await?;
                let Conn::Sqlite(conn) = tx.conn() else {
                    break;
                };
                let before: i64 = sqlx::query_scalar("SELECT total_changes()")
                    .fetch_one(&mut *conn)
                    .await?;
                sqlx::query(&merge)
                    .execute(&mut *conn)
                    .await
                    .with_context(|| format!("merging {table}"))?;
                let after: i64 = sqlx::query_scalar("SELECT total_changes()")
                    .fetch_one(&mut *conn)
                    .await?;
                tx.commit().await?;
                if after - before < 2 {
                    break;
                }
                steps += 1;
            }
        }
        Ok(steps)
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, _) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// How often the background checkpointer copies SQLite's write-ahead log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// How long SQLite's write-ahead log may grow (pages of 4 KB: 64 MB) before the checkpointer
/// starts it over (see [`checkpoint_in_background`]).
const LOG_PAGES_BEFORE_RESTART: i64 = 16_384;

/// Copies committed pages from SQLite's write-ahead log into the database file, on a
/// connection of its own, until the pool closes.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages:
/// with many submitters that is the ticket writer's commit, and every ticket waiting on it
/// waited for the copy and its `fsync` too (the create benchmark's slowest 1 % were those).
/// A passive checkpoint takes no write lock, so writers go on while it copies; the log starts
/// over from its beginning at the first write after a checkpoint that copied it all, if no
/// read is still using the log then.
///
/// Under steady reads and writes there always is one, and the log never starts over: a burst
/// of 54,000 submissions at 16 clients, routed meanwhile, left 1.3 GB of log, and every read
/// looks its pages up in the log's index first, which made the newest-25 list 3 times slower
/// until the log was copied and emptied. So past [`LOG_PAGES_BEFORE_RESTART`] the
/// checkpointer takes a write turn (writers of this process wait for it, and none is half
/// way), copies the rest and waits for the reads still using the log (new ones read the
/// database file, the log being all copied): milliseconds. The next write starts the log over
/// from its beginning; the file keeps its size (the bound and a tick's writes), as emptying
/// it made the writes that grow it again slower (a create burst writes 50 MB of log a
/// second).
async fn checkpoint_in_background(mut conn: SqliteConnection, pool: SqlitePool, turns: WriteTurns) {
    use sqlx::Connection as _;
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Told the moment the pool closes, so the last checkpoint runs then, not a tick later.
    let mut closed = std::pin::pin!(pool.close_event());
    loop {
        tokio::select! {
            _ = &mut closed => break,
            _ = every.tick() => {}
        }
        // (busy, pages in the log, pages copied)
        let passive: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await;
        match passive {
            Ok((_, log_pages, _)) if log_pages > LOG_PAGES_BEFORE_RESTART => {
                restart_log(&mut conn, &turns).await;
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "SQLite checkpoint failed"),
        }
    }
    // The last word: an orderly close leaves no log behind.
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
}

/// Copies the whole log into the database and has the next write start it over, in a write
/// turn of this process (see [`checkpoint_in_background`]).
async fn restart_log(conn: &mut SqliteConnection, turns: &WriteTurns) {
    let Ok(_turn) = tokio::time::timeout(WRITE_TURN_TIMEOUT, turns.0.clone().lock_owned()).await
    else {
        return;
    };
    // Writers of this process wait meanwhile: a read that keeps using the log (a long one, or a
    // connection whose last statement still holds its snapshot) is waited for 100 ms at most,
    // not the 5 s of the busy timeout; the next tick tries again.
    let restore = format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis());
    for statement in [
        "PRAGMA busy_timeout = 100",
        "PRAGMA wal_checkpoint(RESTART)",
        &restore,
    ] {
        if let Err(err) = sqlx::query(statement).execute(&mut *conn).await {
            tracing::warn!(error = %err, statement, "SQLite log not started over");
        }
    }
}

/// A new, empty schema in the PostgreSQL database at `base_url`, as a URL whose connections
/// work in it: each test of the PostgreSQL pass gets a database of its own this way.
pub async fn new_postgres_schema(base_url: &str) -> sqlx::Result<String> {
    use sqlx::Connection as _;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(base_url).await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{base_url}{separator}options[search_path]={schema}"
    ))
}

/// The URL with its password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _password)) => {
                    format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

fn describe_connect_error(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::PoolTimedOut => "timed out (is the server running?)".to_owned(),
        sqlx::Error::Io(io) => first_line(&io.to_string()),
        sqlx::Error::Database(db) => first_line(db.message()),
        other => first_line(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://tts:s3cret@db:5432/tts"),
            "postgres://tts:***@db:5432/tts"
        );
        assert_eq!(redact_url("postgres://db/tts"), "postgres://db/tts");
    }

    /// Writers never checkpoint (automatic checkpoints are off), so without the background
    /// checkpointer the log would grow with every write until the process closed.
    #[tokio::test]
    async fn the_write_ahead_log_is_copied_back_and_reused_in_the_background() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("tts.db");
        let options = DbOptions {
            url: format!("sqlite://{}", file.display()),
            max_connections: Some(2),
            connect_timeout: Duration::from_secs(5),
        };
        let db = Db::connect(&options).await.unwrap();
        let wal = folder.path().join("tts.db-wal");
        let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        let write_a_megabyte = |round: i64| {
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.unwrap();
                let Conn::Sqlite(conn) = tx.conn() else {
                    unreachable!()
                };
                sqlx::query("CREATE TABLE IF NOT EXISTS filler (round INTEGER, bytes BLOB)")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO filler SELECT $1, randomblob(1048576)")
                    .bind(round)
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        };

        write_a_megabyte(1).await;
        let after_one = wal_size();
        assert!(
            after_one > 1_000_000,
            "the first write is in the log: {after_one} bytes"
        );
        for round in 2..=8 {
            // Long enough for a checkpoint to copy the log back into the database file.
            tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
            write_a_megabyte(round).await;
        }
        let after_eight = wal_size();
        assert!(
            after_eight < 3 * after_one,
            "the log is reused once copied back: {after_eight} bytes after eight writes of \
             {after_one}"
        );

        let in_file = std::fs::metadata(&file).unwrap().len();
        assert!(
            in_file > 6 * 1_048_576,
            "the earlier rounds are in the database file itself: {in_file} bytes"
        );
        // And nothing was lost on the way: all eight rounds read back whole.
        assert_eq!(filler_read_back(&db).await, (8, 8 * 1_048_576));
        db.close().await;
    }

    /// A caller that stops waiting for its transaction (a request whose client left, the
    /// RabbitMQ link dropping its relay) must not leave the connection inside a transaction
    /// that holds SQLite's write lock: the next writer would fail. Here callers give up after
    /// each step of the `BEGIN` in turn. (sqlx 0.8 leaves the transaction open when its
    /// future is dropped between SQLite's answer and the handing over of the transaction, a
    /// window this test cannot time on purpose: `begin_uncancelled` closes it by
    /// construction. The test guards the rest.)
    #[tokio::test]
    async fn a_transaction_given_up_while_it_begins_leaves_nothing_open() {
        use sqlx::Connection as _;
        use std::future::Future as _;
        use std::task::{Context, Poll, Waker};
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("tts.db");
        let options = DbOptions {
            url: format!("sqlite://{}", file.display()),
            // One connection: the next transaction gets the one the others gave up.
            max_connections: Some(1),
            connect_timeout: Duration::from_secs(5),
        };
        let db = Db::connect(&options).await.unwrap();
        let mut other = SqliteConnection::connect(&options.url).await.unwrap();
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut other)
            .await
            .unwrap();

        for steps in 1..=30 {
            let mut begin = Box::pin(db.begin());
            let mut cx = Context::from_waker(Waker::noop());
            for _ in 0..steps {
                if let Poll::Ready(tx) = begin.as_mut().poll(&mut cx) {
                    drop(tx);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            drop(begin);
        }

        let mut tx = tokio::time::timeout(Duration::from_secs(10), db.begin())
            .await
            .expect("the next transaction does not wait out the busy timeout")
            .expect("the next transaction begins");
        let Conn::Sqlite(conn) = tx.conn() else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE written (id INTEGER)")
            .execute(&mut *conn)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // And no transaction of ours is left holding the lock.
        tokio::time::sleep(Duration::from_millis(50)).await;
        sqlx::query("INSERT INTO written VALUES (1)")
            .execute(&mut other)
            .await
            .expect("the write lock is free");
        db.close().await;
    }

    /// How many rounds the `filler` table holds, and their bytes.
    async fn filler_read_back(db: &Db) -> (i64, i64) {
        let mut pooled = db.acquire().await.unwrap();
        let mut conn = pooled.conn();
        let Conn::Sqlite(conn) = &mut conn else {
            unreachable!()
        };
        sqlx::query_as("SELECT COUNT(DISTINCT round), SUM(length(bytes)) FROM filler")
            .fetch_one(&mut **conn)
            .await
            .unwrap()
    }

    /// With a read always in progress the log cannot start over by itself: the checkpointer
    /// starts it over once it passes its bound, and the reads and writes go on meanwhile.
    #[tokio::test]
    async fn the_write_ahead_log_stays_bounded_under_overlapping_reads() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("tts.db");
        let options = DbOptions {
            url: format!("sqlite://{}", file.display()),
            max_connections: Some(4),
            connect_timeout: Duration::from_secs(5),
        };
        let db = Db::connect(&options).await.unwrap();
        let wal = folder.path().join("tts.db-wal");
        let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        {
            let mut tx = db.begin().await.unwrap();
            let Conn::Sqlite(conn) = tx.conn() else {
                unreachable!()
            };
            sqlx::query("CREATE TABLE filler (round INTEGER, bytes BLOB)")
                .execute(&mut *conn)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        // Two readers, each holding a read transaction for 40 ms, staggered: at any moment
        // one of them is reading.
        let reading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut readers = Vec::new();
        for offset in [0, 20] {
            let (db, reading) = (db.clone(), reading.clone());
            readers.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(offset)).await;
                let mut reads = 0_u32;
                while reading.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut pooled = db.acquire().await.unwrap();
                    let mut conn = pooled.conn();
                    let Conn::Sqlite(conn) = &mut conn else {
                        unreachable!()
                    };
                    sqlx::query("BEGIN").execute(&mut **conn).await.unwrap();
                    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM filler")
                        .fetch_one(&mut **conn)
                        .await
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    sqlx::query("COMMIT").execute(&mut **conn).await.unwrap();
                    reads += 1;
                }
                reads
            }));
        }
        // 128 MB written, twice the bound, one megabyte every 20 ms: new reads begin
        // while the log holds pages not yet copied, so each is still using it when the next
        // write comes.
        let mut largest = 0;
        for round in 1..=128_i64 {
            let mut tx = db.begin().await.unwrap();
            let Conn::Sqlite(conn) = tx.conn() else {
                unreachable!()
            };
            sqlx::query("INSERT INTO filler SELECT $1, randomblob(1048576)")
                .bind(round)
                .execute(&mut *conn)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            largest = largest.max(wal_size());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        reading.store(false, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            assert!(reader.await.unwrap() > 10, "the reads went on meanwhile");
        }
        let bound = (LOG_PAGES_BEFORE_RESTART as u64) * 4096;
        assert!(
            largest < bound + 16 * 1_048_576,
            "the log stayed near its bound of {bound} bytes: it reached {largest}"
        );
        // Nothing was lost: every round reads back whole.
        assert_eq!(filler_read_back(&db).await, (128, 128 * 1_048_576));
        db.close().await;
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_a_clear_error() {
        let options = DbOptions {
            url: "mysql://root:pw@localhost/tts".into(),
            max_connections: Some(1),
            connect_timeout: Duration::from_secs(1),
        };
        let err = Db::connect(&options).await.unwrap_err().to_string();
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }
}
