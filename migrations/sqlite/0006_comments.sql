-- Messaging (issue 7): comments with threaded replies, their edit history, ratings, mentions,
-- and attachments on comments (the ticket attachment storage, with the comment named).

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    -- A reply names the comment it answers (one level of threading: replies to a reply
    -- attach to the same top-level comment).
    parent_id INTEGER REFERENCES comments(id) ON DELETE CASCADE,
    author_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    -- An internal note: agents and admins only, never shown to the requester.
    is_internal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    edited_at TEXT,
    -- Deleted comments keep their row (replies hang on it) and their history; the body is
    -- emptied.
    deleted_at TEXT
);
CREATE INDEX comments_by_ticket ON comments (ticket_id, id);

-- Every earlier text of a comment, kept when it is edited or deleted.
CREATE TABLE comment_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    replaced_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    replaced_at TEXT NOT NULL
);
CREATE INDEX comment_revisions_by_comment ON comment_revisions (comment_id, id);

-- One thumbs-up (1) or thumbs-down (-1) per user and comment, changeable.
CREATE TABLE comment_ratings (
    comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    rated_at TEXT NOT NULL,
    PRIMARY KEY (comment_id, user_id)
);

-- The users a comment mentions (and so notifies).
CREATE TABLE comment_mentions (
    comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (comment_id, user_id)
);

ALTER TABLE attachments ADD COLUMN comment_id INTEGER REFERENCES comments(id) ON DELETE CASCADE;
CREATE INDEX attachments_by_comment ON attachments (comment_id) WHERE comment_id IS NOT NULL;
