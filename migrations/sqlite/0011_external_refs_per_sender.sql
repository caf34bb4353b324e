-- An external reference is the submitting system's own id, so it is unique per sender, not
-- across every integration: two systems may both send their ticket "4711", and one must never
-- be answered with the other's ticket (docs/security.md). `external_key` is what repeated
-- submissions are found by: `<sender>/<reference>`, where the sender is `api_key:<id>`,
-- `celery` (the RabbitMQ intake) or `user:<id>` (an administrator). `external_ref` stays the
-- reference as sent, shown and filtered on.
--
-- The old column, with its UNIQUE constraint, becomes the key (SQLite cannot drop a column's
-- constraint without rebuilding the table). Tickets received before this change do not know
-- their sender: their key is `legacy/<reference>`, which a repeat from any sender still finds.
ALTER TABLE tickets RENAME COLUMN external_ref TO external_key;
ALTER TABLE tickets ADD COLUMN external_ref TEXT;
UPDATE tickets SET external_ref = external_key, external_key = 'legacy/' || external_key
    WHERE external_key IS NOT NULL;
CREATE INDEX tickets_by_external_ref ON tickets (external_ref);
