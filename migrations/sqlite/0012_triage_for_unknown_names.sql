-- A ticket from another system naming a category, sub-category, department or priority that
-- TTS does not know waits in triage for an admin ("unknown_names") instead of being refused.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (nothing refers to
-- it, so dropping the old one deletes nothing elsewhere).
CREATE TABLE triage_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    reason TEXT NOT NULL CHECK (reason IN ('no_workflow', 'no_assignee', 'unknown_names')),
    detail TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by INTEGER REFERENCES users(id) ON DELETE SET NULL
);
INSERT INTO triage_new (id, ticket_id, reason, detail, created_at, resolved_at, resolved_by)
    SELECT id, ticket_id, reason, detail, created_at, resolved_at, resolved_by FROM triage;
DROP TABLE triage;
ALTER TABLE triage_new RENAME TO triage;
CREATE UNIQUE INDEX triage_open_by_ticket ON triage (ticket_id) WHERE resolved_at IS NULL;
