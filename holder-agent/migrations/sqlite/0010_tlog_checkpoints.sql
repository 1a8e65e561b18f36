-- The last checkpoint of each issuer's transparency log that checked out (issue 19): the
-- `transparency` check proves every later checkpoint of that issuer consistent with it,
-- so a log rewritten or rolled back after the wallet saw it fails loudly. `log_key` is
-- the log's verifier key (Go note form), pinned at first sight.
CREATE TABLE tlog_checkpoints (
    issuer TEXT PRIMARY KEY,
    log_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL
);
