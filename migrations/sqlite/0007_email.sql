-- E-mail notifications (issue 7): per-user choices, the daily digest, and the delivery log.

-- Whether a kind of notification also goes by e-mail; no row: the kind's default (yes).
CREATE TABLE notification_preferences (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    email BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- A user who takes a daily digest instead of one e-mail per notification.
CREATE TABLE notification_digests (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL,
    -- Notifications after this one go in the next digest.
    last_notification_id INTEGER NOT NULL DEFAULT 0,
    sent_at TEXT
);

-- Every e-mail TTS tries to send for a notification or a digest, with its outcome.
CREATE TABLE email_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The outbox event that sends it: its attempts update this row.
    event_key TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    to_address TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'gave_up')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX email_deliveries_by_time ON email_deliveries (id DESC);
