-- The registrations page's search for a rare term (one person's name or address) finds
-- its rows through a trigram index instead of reading every registration: at 100,000
-- registrations, `search LIKE '%person 050000%'` went from a scan of the whole table
-- (32-40 ms) to a bitmap index scan (1.4 ms). A common term or one of two letters still
-- walks `registrations_created` newest first and stops at the page's limit; the planner
-- chooses per term (the page's query is planned with its pattern).
--
-- pg_trgm ships with PostgreSQL and is a trusted extension (PostgreSQL 13+): a database
-- owner may create it. It is created in `public` once per database (the migrator holds
-- its database-wide lock, so schemas migrating at once do not race) and its operator
-- class is named with that schema, since the issuer's `search_path` may be its own schema.

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE INDEX registrations_search_trigrams ON registrations USING gin (search public.gin_trgm_ops);
