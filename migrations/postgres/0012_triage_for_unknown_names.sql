-- A ticket from another system naming a category, sub-category, department or priority that
-- TTS does not know waits in triage for an admin ("unknown_names") instead of being refused.
ALTER TABLE triage DROP CONSTRAINT triage_reason_check;
ALTER TABLE triage ADD CONSTRAINT triage_reason_check
    CHECK (reason IN ('no_workflow', 'no_assignee', 'unknown_names'));
