-- The console's operations pages read the outbox and the audit log newest first, a page
-- after a (created_at, id) or (at, id) key, never an offset. The emails not sent yet (few
-- beside the sent ones) have their own index in that order: the delivery page's states
-- other than "sent" walk only them.
CREATE INDEX outbox_created ON outbox(created_at, id);
CREATE INDEX outbox_unsent ON outbox(created_at, id) WHERE sent_at IS NULL;
CREATE INDEX audit_log_at_id ON audit_log(at, id);
CREATE INDEX audit_log_action ON audit_log(action, at, id);
