-- A person may end a running workflow by resolving or closing its ticket (issue 26): the task
-- is then "cancelled", and so is the item that was open. Reopening the ticket resumes the
-- task, giving an item of origin "reopened". Tickets that were resolved or closed
-- by hand before this rule existed kept a running task (its clocks ran, it stayed in the
-- inbox): those tasks end now, as the rule would have ended them.
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
    CHECK (status IN ('open', 'completed', 'cancelled'));
ALTER TABLE task_items DROP CONSTRAINT task_items_origin_check;
ALTER TABLE task_items ADD CONSTRAINT task_items_origin_check
    CHECK (origin IN ('system', 'transferred', 'escalation', 'reopened'));
ALTER TABLE task_items DROP CONSTRAINT task_items_status_check;
ALTER TABLE task_items ADD CONSTRAINT task_items_status_check
    CHECK (status IN ('new', 'in_progress', 'resolved', 'reassigned', 'escalated', 'breached',
                      'cancelled'));

UPDATE task_items SET status = 'cancelled', acted_at = tickets.updated_at
    FROM tasks, tickets
    WHERE task_items.task_id = tasks.id AND tickets.id = tasks.ticket_id
      AND tasks.status = 'open' AND tickets.status IN ('resolved', 'closed')
      AND task_items.status IN ('new', 'in_progress', 'breached');
UPDATE tasks SET status = 'cancelled', completed_at = tickets.updated_at,
                 updated_at = tickets.updated_at, revision = tasks.revision + 1
    FROM tickets
    WHERE tickets.id = tasks.ticket_id
      AND tasks.status = 'open' AND tickets.status IN ('resolved', 'closed');
