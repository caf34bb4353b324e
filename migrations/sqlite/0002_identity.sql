-- Identity and access (issue 4): sessions and refresh rotation, revocation, lockout,
-- second factor, password reset, API keys, login alerts, workflow roles.

ALTER TABLE users ADD COLUMN failed_login_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TEXT;
-- 'none', 'totp' (authenticator app) or 'email' (one-time codes by e-mail).
ALTER TABLE users ADD COLUMN second_factor TEXT NOT NULL DEFAULT 'none'
    CHECK (second_factor IN ('none', 'totp', 'email'));
-- The TOTP secret, encrypted with a key derived from the server secret.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN password_changed_at TEXT;

-- A signed-in device: the family of its refresh tokens. Only the newest refresh token of a
-- family is valid; presenting an older one revokes the family (token theft).
CREATE TABLE auth_sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    current_refresh_jti TEXT NOT NULL,
    previous_refresh_jti TEXT,
    rotated_at TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_reason TEXT,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id);

-- Access tokens revoked before they expire (sign-out); pruned once expired.
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- The public part of the key, shown in lists; the secret part is stored hashed.
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    -- Space-separated scopes, e.g. 'tickets:submit notifications:send'.
    scopes TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX recovery_codes_by_user ON recovery_codes (user_id);

-- Single-use secrets sent by e-mail: sign-in codes and password-reset links.
CREATE TABLE one_time_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'password_reset')),
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX one_time_codes_by_user ON one_time_codes (user_id, purpose);
CREATE INDEX one_time_codes_by_hash ON one_time_codes (code_hash);

-- Devices a user has signed in from, to alert them of a new one.
CREATE TABLE known_devices (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (user_id, device_hash)
);

-- Per system role in TTS: whether its holders must use a second factor.
CREATE TABLE role_policies (
    role TEXT PRIMARY KEY CHECK (role IN ('Admin', 'Agent', 'Employee')),
    require_second_factor BOOLEAN NOT NULL DEFAULT FALSE
);

-- Workflow roles ("IT Support L1") and their members: who the workflow engine assigns.
CREATE TABLE workflow_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE workflow_role_members (
    role_id INTEGER NOT NULL REFERENCES workflow_roles(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    added_at TEXT NOT NULL,
    PRIMARY KEY (role_id, user_id)
);
CREATE INDEX workflow_role_members_by_user ON workflow_role_members (user_id);
