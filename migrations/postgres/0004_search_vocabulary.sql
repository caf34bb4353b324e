-- The words of every ticket's search_vector, read to suggest a correction when a search
-- finds nothing (SQLite reads the same from FTS5's own vocabulary, tickets_fts_vocab). Words
-- are only added: a word no ticket holds any more suggests a search that finds nothing.
CREATE TABLE search_words (
    word TEXT PRIMARY KEY
);
CREATE FUNCTION remember_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT unnest(tsvector_to_array(NEW.search_vector))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_search_words AFTER INSERT OR UPDATE OF subject, description ON tickets
    FOR EACH ROW EXECUTE FUNCTION remember_search_words();
INSERT INTO search_words (word)
SELECT DISTINCT unnest(tsvector_to_array(search_vector)) FROM tickets
ON CONFLICT DO NOTHING;
