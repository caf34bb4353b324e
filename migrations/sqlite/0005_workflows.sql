-- Workflow engine (issue 6): workflows with their draft steps and transitions, frozen
-- versions, tasks and task items with their history, round-robin cursors, the triage queue,
-- the audit log and in-app notifications. docs/workflow-engine.md explains the choices.

-- How a workflow role hands out work: in turn, or to the member with the fewest open items.
ALTER TABLE workflow_roles ADD COLUMN assignment TEXT NOT NULL DEFAULT 'round_robin'
    CHECK (assignment IN ('round_robin', 'least_loaded'));

CREATE TABLE workflows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The draft's match set (the deployed version keeps its own copy).
    category_id INTEGER REFERENCES categories(id),
    sub_category_id INTEGER REFERENCES categories(id),
    department_id INTEGER REFERENCES departments(id),
    status TEXT NOT NULL CHECK (status IN ('draft', 'deployed', 'paused')),
    -- The draft's SLA per priority (JSON of domain::workflow::SlaPolicy).
    sla TEXT NOT NULL,
    end_logic TEXT NOT NULL CHECK (end_logic IN ('none', 'asset', 'budget', 'notification')),
    -- Bumped by every change to the draft: a save naming an older revision is refused.
    revision INTEGER NOT NULL DEFAULT 1,
    -- The version new tickets start on (NULL until the first deployment).
    deployed_version_id INTEGER,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX workflows_name ON workflows (lower(name));

-- The draft graph. Row ids are the step and transition ids, kept from version to version.
CREATE TABLE workflow_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    -- Order of the steps in the graph (ties in the rules are broken by it).
    sort_order INTEGER NOT NULL,
    name TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    role_id INTEGER REFERENCES workflow_roles(id) ON DELETE SET NULL,
    escalation_role_id INTEGER REFERENCES workflow_roles(id) ON DELETE SET NULL,
    weight INTEGER NOT NULL,
    is_start BOOLEAN NOT NULL DEFAULT FALSE,
    is_end BOOLEAN NOT NULL DEFAULT FALSE,
    position_x DOUBLE PRECISION NOT NULL DEFAULT 0,
    position_y DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX workflow_steps_by_workflow ON workflow_steps (workflow_id, sort_order);

CREATE TABLE workflow_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    sort_order INTEGER NOT NULL,
    from_step_id INTEGER NOT NULL REFERENCES workflow_steps(id) ON DELETE CASCADE,
    to_step_id INTEGER NOT NULL REFERENCES workflow_steps(id) ON DELETE CASCADE,
    action TEXT NOT NULL
);
CREATE INDEX workflow_transitions_by_workflow ON workflow_transitions (workflow_id, sort_order);

-- A deployed graph, frozen: never updated. Tasks reference it, so it is never deleted either.
CREATE TABLE workflow_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE RESTRICT,
    number INTEGER NOT NULL,
    graph TEXT NOT NULL,
    sla TEXT NOT NULL,
    end_logic TEXT NOT NULL,
    category_id INTEGER,
    sub_category_id INTEGER,
    department_id INTEGER,
    deployed_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    deployed_at TEXT NOT NULL,
    UNIQUE (workflow_id, number)
);

-- A ticket's way through its workflow version.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL UNIQUE REFERENCES tickets(id) ON DELETE CASCADE,
    workflow_version_id INTEGER NOT NULL REFERENCES workflow_versions(id),
    current_step_id INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'completed')),
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
CREATE INDEX tasks_open_by_target ON tasks (status, target_at);

-- One person's share of a task at a step.
CREATE TABLE task_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    role_id INTEGER,
    step_id INTEGER NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('system', 'transferred', 'escalation')),
    status TEXT NOT NULL
        CHECK (status IN ('new', 'in_progress', 'resolved', 'reassigned', 'escalated', 'breached')),
    notes TEXT NOT NULL DEFAULT '',
    assigned_at TEXT NOT NULL,
    target_at TEXT NOT NULL,
    warn_at TEXT NOT NULL,
    acted_at TEXT,
    warned_at TEXT,
    breached_at TEXT
);
CREATE INDEX task_items_by_task ON task_items (task_id, id);
CREATE INDEX task_items_by_user ON task_items (user_id, status);
CREATE INDEX task_items_open_by_target ON task_items (target_at)
    WHERE status IN ('new', 'in_progress', 'breached');

CREATE TABLE task_item_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_item_id INTEGER NOT NULL REFERENCES task_items(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX task_item_history_by_item ON task_item_history (task_item_id, id);

-- Round robin: the member of each role who was given work last.
CREATE TABLE role_rotation (
    role_id INTEGER PRIMARY KEY REFERENCES workflow_roles(id) ON DELETE CASCADE,
    last_user_id INTEGER,
    updated_at TEXT NOT NULL
);

-- Tickets the engine could not place: no workflow matched, or a step's role had no active
-- member. Admins see the queue; resolving an entry is done by acting on it.
CREATE TABLE triage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    reason TEXT NOT NULL CHECK (reason IN ('no_workflow', 'no_assignee')),
    detail TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX triage_open_by_ticket ON triage (ticket_id) WHERE resolved_at IS NULL;

-- Append-only: the code has no path that updates or deletes a row.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'user:12', 'api_key:3' or 'system'.
    actor TEXT NOT NULL,
    actor_id INTEGER,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id INTEGER,
    before_value TEXT,
    after_value TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX audit_events_by_target ON audit_events (target_kind, target_id, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, id);

-- In-app notifications. `dedupe_key` makes a notification that must go out once (an SLA
-- warning for one task item) go out once, however often the monitor runs and on however many
-- replicas.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    link TEXT,
    dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
