-- Full-text search over comments (issue 5: "subject, description and comments"): an
-- external-content FTS5 index over the comment bodies, kept in step by triggers, tokenized as
-- tickets_fts is. A search joins a comment's match to its ticket, and leaves internal notes
-- out for those who may not read them (services::tickets::list). Deleting a comment empties
-- its body, so a deleted comment is found by nothing. Comment words are not in the vocabulary
-- that suggests corrections (tickets_fts_vocab): a suggestion must not reveal a word of an
-- internal note.
CREATE VIRTUAL TABLE comments_fts USING fts5(
    body,
    content = 'comments', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);
CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER comments_fts_update AFTER UPDATE OF body ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;
INSERT INTO comments_fts (comments_fts) VALUES ('rebuild');
