//! Both backends must have the same schema: the same tables, the same columns, the same
//! nullability. The migrations are written twice (one folder per dialect); this catches a
//! change made to one and forgotten in the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use services::db::{Db, DbOptions};

type Schema = BTreeSet<(String, String, bool)>;

async fn open(url: &str) -> Db {
    let options = DbOptions {
        url: url.to_owned(),
        max_connections: Some(2),
        connect_timeout: Duration::from_secs(5),
    };
    let db = Db::connect(&options).await.unwrap();
    db.migrate().await.unwrap();
    db
}

// Full-text search is the one deliberate difference: SQLite's FTS5 tables (`*_fts*`)
// and PostgreSQL's generated `search_vector` column and its `search_words` are left out of
// the comparison.
async fn sqlite_schema(db: &Db) -> Schema {
    let Db::Sqlite(pool, _) = db else {
        panic!("expected SQLite")
    };
    let rows: Vec<(String, String, bool, i64)> = sqlx::query_as(
        "SELECT m.name, p.name, p.\"notnull\", p.pk FROM sqlite_master m \
         JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
         AND m.name NOT LIKE '%_fts' AND m.name NOT LIKE '%_fts_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    // An INTEGER PRIMARY KEY is never NULL in SQLite even though the pragma says nullable.
    rows.into_iter()
        .map(|(t, c, not_null, pk)| (t, c, not_null || pk > 0))
        .collect()
}

async fn postgres_schema(db: &Db) -> Schema {
    let Db::Postgres(pool) = db else {
        panic!("expected PostgreSQL")
    };
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         AND column_name <> 'search_vector' AND table_name <> 'search_words'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(t, c, nullable)| (t, c, nullable == "NO"))
        .collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: runs in the PostgreSQL pass of scripts/test.sh (TTS_TEST_DATABASE_URL)"]
async fn sqlite_and_postgresql_migrations_give_the_same_schema() {
    let base = std::env::var("TTS_TEST_DATABASE_URL")
        .expect("TTS_TEST_DATABASE_URL must name a PostgreSQL database");
    let postgres = open(&services::db::new_postgres_schema(&base).await.unwrap()).await;

    let dir = tempfile::tempdir().unwrap();
    let sqlite = open(&format!(
        "sqlite://{}",
        dir.path().join("parity.db").display()
    ))
    .await;

    let (on_sqlite, on_postgres) = (
        sqlite_schema(&sqlite).await,
        postgres_schema(&postgres).await,
    );
    assert!(!on_sqlite.is_empty(), "the migrations created tables");
    let only_sqlite: Vec<_> = on_sqlite.difference(&on_postgres).collect();
    let only_postgres: Vec<_> = on_postgres.difference(&on_sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ.\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );

    // Both also agree on the migration history.
    let versions = |db: &Db| {
        let db = db.clone();
        async move {
            let mut pooled = db.acquire().await.unwrap();
            let mut conn = pooled.conn();
            services::on_conn!(&mut conn, c => sqlx::query_scalar::<_, i64>(
                "SELECT version FROM _sqlx_migrations ORDER BY version"
            ).fetch_all(c).await)
            .unwrap()
        }
    };
    // The schema stays, as every test's does: the test command drops the whole test database
    // before its PostgreSQL pass.
    assert_eq!(versions(&sqlite).await, versions(&postgres).await);
}
