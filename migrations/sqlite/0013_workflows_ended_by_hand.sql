-- A person may end a running workflow by resolving or closing its ticket (issue 26): the task
-- is then "cancelled", and so is the item that was open. Reopening the ticket resumes the
-- task, giving an item of origin "reopened". Tickets that were resolved or closed by hand
-- before this rule existed kept a running task (its clocks ran, it stayed in the inbox):
-- those tasks end now, as the rule would have ended them.
--
-- SQLite cannot change a CHECK constraint in place, so the tables are rebuilt. sqlx runs a
-- migration inside a transaction with foreign keys on, where they cannot be switched off, and
-- dropping a parent table then deletes its children's rows (ON DELETE CASCADE). So each old
-- table is renamed aside first (SQLite points its children's references at the new name),
-- the new tables are built parent first, each child's rows copied to a new child referencing
-- the new parent, and the old tables dropped child first, when nothing refers to them.
ALTER TABLE tasks RENAME TO tasks_old;
ALTER TABLE task_items RENAME TO task_items_old;
ALTER TABLE task_item_history RENAME TO task_item_history_old;
DROP INDEX tasks_open_by_target;
DROP INDEX task_items_by_task;
DROP INDEX task_items_by_user;
DROP INDEX task_items_open_by_target;
DROP INDEX task_item_history_by_item;

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL UNIQUE REFERENCES tickets(id) ON DELETE CASCADE,
    workflow_version_id INTEGER NOT NULL REFERENCES workflow_versions(id),
    current_step_id INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'cancelled')),
    -- Bumped by every move: an action naming an older revision is refused (409).
    revision INTEGER NOT NULL DEFAULT 1,
    sla_seconds INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    target_at TEXT NOT NULL,
    -- When the SLA monitor warns (75 % of the time): computed once, compared cheaply.
    warn_at TEXT NOT NULL,
    step_started_at TEXT NOT NULL,
    step_target_at TEXT NOT NULL,
    completed_at TEXT,
    -- The outcome of the end logic (AMS/BMS call or notification) for all to see.
    end_logic_status TEXT,
    end_logic_detail TEXT,
    -- The SLA monitor's marks for the task as a whole: each notification goes out once.
    warned_at TEXT,
    breached_at TEXT,
    updated_at TEXT NOT NULL
);
INSERT INTO tasks (id, ticket_id, workflow_version_id, current_step_id, status, revision,
        sla_seconds, started_at, target_at, warn_at, step_started_at, step_target_at,
        completed_at, end_logic_status, end_logic_detail, warned_at, breached_at, updated_at)
    SELECT id, ticket_id, workflow_version_id, current_step_id, status, revision,
        sla_seconds, started_at, target_at, warn_at, step_started_at, step_target_at,
        completed_at, end_logic_status, end_logic_detail, warned_at, breached_at, updated_at
    FROM tasks_old;

CREATE TABLE task_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    role_id INTEGER,
    step_id INTEGER NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('system', 'transferred', 'escalation', 'reopened')),
    status TEXT NOT NULL
        CHECK (status IN ('new', 'in_progress', 'resolved', 'reassigned', 'escalated', 'breached',
                          'cancelled')),
    notes TEXT NOT NULL DEFAULT '',
    assigned_at TEXT NOT NULL,
    target_at TEXT NOT NULL,
    warn_at TEXT NOT NULL,
    acted_at TEXT,
    warned_at TEXT,
    breached_at TEXT
);
INSERT INTO task_items (id, task_id, user_id, role_id, step_id, origin, status, notes,
        assigned_at, target_at, warn_at, acted_at, warned_at, breached_at)
    SELECT id, task_id, user_id, role_id, step_id, origin, status, notes,
        assigned_at, target_at, warn_at, acted_at, warned_at, breached_at
    FROM task_items_old;

CREATE TABLE task_item_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_item_id INTEGER NOT NULL REFERENCES task_items(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
INSERT INTO task_item_history (id, task_item_id, status, actor_id, note, created_at)
    SELECT id, task_item_id, status, actor_id, note, created_at FROM task_item_history_old;

DROP TABLE task_item_history_old;
DROP TABLE task_items_old;
DROP TABLE tasks_old;

CREATE INDEX tasks_open_by_target ON tasks (status, target_at);
CREATE INDEX task_items_by_task ON task_items (task_id, id);
CREATE INDEX task_items_by_user ON task_items (user_id, status);
CREATE INDEX task_items_open_by_target ON task_items (target_at)
    WHERE status IN ('new', 'in_progress', 'breached');
CREATE INDEX task_item_history_by_item ON task_item_history (task_item_id, id);

UPDATE task_items SET status = 'cancelled',
        acted_at = (SELECT tickets.updated_at FROM tasks JOIN tickets ON tickets.id = tasks.ticket_id
                    WHERE tasks.id = task_items.task_id)
    WHERE status IN ('new', 'in_progress', 'breached')
      AND task_id IN (SELECT tasks.id FROM tasks JOIN tickets ON tickets.id = tasks.ticket_id
                      WHERE tasks.status = 'open' AND tickets.status IN ('resolved', 'closed'));
UPDATE tasks SET status = 'cancelled',
        completed_at = (SELECT updated_at FROM tickets WHERE tickets.id = tasks.ticket_id),
        updated_at = (SELECT updated_at FROM tickets WHERE tickets.id = tasks.ticket_id),
        revision = revision + 1
    WHERE status = 'open'
      AND ticket_id IN (SELECT id FROM tickets WHERE status IN ('resolved', 'closed'));
