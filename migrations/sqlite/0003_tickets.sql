-- Helpdesk core (issue 5): reference data, tickets and their history, attachments, saved
-- filters, the outbox, and settings.

-- Admin-managed reference data. Names are unique ignoring letter case.
CREATE TABLE departments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX departments_name ON departments (lower(name));

-- Categories and, one level down, their sub-categories (parent_id set).
CREATE TABLE categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES categories(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX categories_name ON categories (COALESCE(parent_id, 0), lower(name));

-- The four priorities are fixed (workflows set an SLA for each); admins name and order them.
CREATE TABLE priorities (
    code TEXT PRIMARY KEY CHECK (code IN ('low', 'medium', 'high', 'urgent')),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL
);
INSERT INTO priorities (code, name, description, sort_order) VALUES
    ('low', 'Low', 'Whenever there is time', 1),
    ('medium', 'Medium', 'Normal business', 2),
    ('high', 'High', 'Work is hampered', 3),
    ('urgent', 'Urgent', 'Work has stopped', 4);

-- Which departments an agent works for (ticket visibility).
CREATE TABLE department_members (
    department_id INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (department_id, user_id)
);
CREATE INDEX department_members_by_user ON department_members (user_id);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    -- Markdown, rendered (sanitised) on display.
    description TEXT NOT NULL,
    category_id INTEGER REFERENCES categories(id),
    sub_category_id INTEGER REFERENCES categories(id),
    department_id INTEGER REFERENCES departments(id),
    priority TEXT NOT NULL REFERENCES priorities(code),
    status TEXT NOT NULL
        CHECK (status IN ('new', 'open', 'in_progress', 'on_hold', 'resolved', 'closed')),
    requester_id INTEGER NOT NULL REFERENCES users(id),
    assignee_id INTEGER REFERENCES users(id),
    source TEXT NOT NULL CHECK (source IN ('portal', 'api', 'hdts')),
    -- The submitting system's own id; unique, so a repeated submission finds its ticket.
    external_ref TEXT UNIQUE,
    fields TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT
);
-- Full-text search (SQLite only; PostgreSQL uses the search_vector column): an external-content
-- FTS5 index over subject and description, kept in step by triggers, with prefix indexes for
-- the search box's as-you-type matching.
CREATE VIRTUAL TABLE tickets_fts USING fts5(
    subject, description,
    content = 'tickets', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, subject, description)
    VALUES (new.id, new.subject, new.description);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description)
    VALUES ('delete', old.id, old.subject, old.description);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, description ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description)
    VALUES ('delete', old.id, old.subject, old.description);
    INSERT INTO tickets_fts (rowid, subject, description)
    VALUES (new.id, new.subject, new.description);
END;
CREATE INDEX tickets_by_requester ON tickets (requester_id, id);
CREATE INDEX tickets_by_assignee ON tickets (assignee_id, id);
CREATE INDEX tickets_by_status ON tickets (status, id);
CREATE INDEX tickets_by_priority ON tickets (priority, id);
CREATE INDEX tickets_by_department ON tickets (department_id, id);
CREATE INDEX tickets_by_category ON tickets (category_id, id);
CREATE INDEX tickets_by_sub_category ON tickets (sub_category_id, id);
CREATE INDEX tickets_by_updated ON tickets (updated_at, id);

-- Everything that happened to a ticket, for its history: creation, status changes (who and
-- when), assignment, edits, attachments.
CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    from_value TEXT,
    to_value TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id);

-- Files are stored once by content hash under DATA_DIR/attachments; rows name them.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_by_ticket ON attachments (ticket_id);

-- A user's named ticket-list filters (the list's query string).
CREATE TABLE saved_filters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX saved_filters_name ON saved_filters (user_id, lower(name));

-- Events that must cause later work, written in the transaction that caused them and
-- dispatched by the background runner. `event_key` makes each event unique.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    available_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    processed_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (available_at) WHERE processed_at IS NULL;

-- Product-wide settings set by admins (e.g. which tickets agents see).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
