-- Users and their system roles (SPEC.md section 2, "Auth").
-- Timestamps are written by the application (UTC); SQLite stores them as text.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stored lower-cased, so uniqueness ignores letter case.
    email TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    -- NULL until the user has set a password (an invited user).
    password_hash TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_login_at TEXT
);

-- At most one role per system per user.
CREATE TABLE user_system_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    system TEXT NOT NULL CHECK (system IN ('tts', 'hdts', 'ams', 'bms')),
    role TEXT NOT NULL CHECK (role IN ('Admin', 'Agent', 'Employee')),
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, system)
);
