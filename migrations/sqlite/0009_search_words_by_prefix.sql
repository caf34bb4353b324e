-- Nothing to change on SQLite: the PostgreSQL migration of this number indexes its search
-- vocabulary (`search_words`) for prefix lookups; SQLite reads its vocabulary from FTS5's own
-- `tickets_fts_vocab`, ordered already. Kept so both backends share one migration history
-- (services/tests/schema_parity.rs).
SELECT 1;
