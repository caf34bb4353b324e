-- Every note says who may read it (issue 26). Notes typed in a workflow step's action box were
-- shown to the requester in their history although they are usually written for colleagues;
-- they are staff-only from now on unless the writer says otherwise. Notes already written
-- there become staff-only too: the safe reading of what their writers meant.
ALTER TABLE ticket_events ADD COLUMN is_internal BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE ticket_events SET is_internal = TRUE WHERE kind = 'action' AND note <> '';
