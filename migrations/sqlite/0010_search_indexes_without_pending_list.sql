-- Nothing to change on SQLite: the PostgreSQL migration of this number turns off the GIN
-- indexes' pending list; FTS5 has none (its segments are merged by `Db::tidy_search_indexes`).
-- Kept so both backends share one migration history (services/tests/schema_parity.rs).
SELECT 1;
