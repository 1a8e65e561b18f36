-- The issuance transparency log (issue 19). `tlog_head` is the sequencer: its one row's
-- update hands out the next indices and holds SQLite's write lock (PostgreSQL: the row
-- lock) to the end of the transaction that appends, so every instance sharing the
-- database appends in one order, with no gaps, and a crash before commit leaves nothing.
CREATE TABLE tlog_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
);
INSERT INTO tlog_head (id, size) VALUES (1, 0);

-- The entries, by index; leaf_hash = SHA-256(0x00 || entry).
CREATE TABLE tlog_entries (
    idx INTEGER PRIMARY KEY,
    entry BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    appended_at INTEGER NOT NULL
);
