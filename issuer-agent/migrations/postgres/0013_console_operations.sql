-- The console's operations pages read the outbox and the audit log newest first, a page
-- after a (created_at, id) or (at, id) key, never an offset.
CREATE INDEX outbox_created ON outbox(created_at, id);
CREATE INDEX audit_log_at_id ON audit_log(at, id);
CREATE INDEX audit_log_action ON audit_log(action, at, id);
