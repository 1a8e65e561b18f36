-- PostgreSQL's 0008 compresses results with lz4. SQLite does not compress values, so it
-- needs nothing here; this file keeps the two directories' numbering parallel.
SELECT 1;
