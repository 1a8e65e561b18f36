-- The signed webhook to the relying application when a request's result is ready: where
-- to, how many attempts so far, when the next one is due (NULL: none), when it was
-- delivered, and why the last attempt failed.
ALTER TABLE requests ADD COLUMN webhook_url TEXT;
ALTER TABLE requests ADD COLUMN webhook_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN webhook_next_at BIGINT;
ALTER TABLE requests ADD COLUMN webhook_delivered_at BIGINT;
ALTER TABLE requests ADD COLUMN webhook_last_error TEXT;
CREATE INDEX requests_webhook_due ON requests (webhook_next_at);
