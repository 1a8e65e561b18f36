-- SQLite's 0030 rebuilds its trigram index of the registrations' search; PostgreSQL has
-- none (its search reads `registrations_search`). This file keeps the two directories'
-- numbering parallel.
SELECT 1;
