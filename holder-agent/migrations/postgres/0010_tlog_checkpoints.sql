-- The last checkpoint of each issuer's transparency log that checked out (issue 19): the
-- `transparency` check proves every later checkpoint of that issuer consistent with it,
-- so a log rewritten or rolled back after the wallet saw it fails loudly. `log_key` is
-- the log's verifier key (Go note form), pinned at first sight.
CREATE TABLE tlog_checkpoints (
    issuer TEXT PRIMARY KEY,
    log_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL
);

-- Each held badge's latest proof of inclusion in its issuer's log, by the base64url
-- SHA-256 of its issuer-signed JWT: fetched at receipt, replaced by every verification
-- that checks out. `proof` is the issuer's JSON (`protocol::tlog::proof::LogProof`).
CREATE TABLE tlog_proofs (
    jwt_digest TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    entry_index BIGINT NOT NULL,
    tree_size BIGINT NOT NULL,
    proof TEXT NOT NULL
);
