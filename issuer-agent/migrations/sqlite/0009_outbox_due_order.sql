-- The outbox is claimed in (next_attempt_at, id) order, LIMIT n: with the index on
-- next_attempt_at alone, every claim sorted all the due rows sharing a next_attempt_at
-- (a whole import's) by id. With id in the index the claim reads only the rows it takes.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE sent_at IS NULL;
