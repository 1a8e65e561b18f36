-- Nothing to do on SQLite: its registrations search already has a trigram index, the FTS5
-- table `registrations_fts` of migration 0011. This file keeps the two backends'
-- migration numbers in step (PostgreSQL's 0021 adds a pg_trgm index).
SELECT 1;
