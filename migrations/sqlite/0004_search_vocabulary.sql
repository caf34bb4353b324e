-- The words of the full-text index with how many tickets hold each, read to suggest a
-- correction when a search finds nothing (FTS5 keeps them; this only exposes them).
CREATE VIRTUAL TABLE tickets_fts_vocab USING fts5vocab(tickets_fts, 'row');
