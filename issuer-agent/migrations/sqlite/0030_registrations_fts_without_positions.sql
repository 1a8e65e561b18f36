-- The trigram index of the registrations' search (0011) keeps which rows hold each
-- trigram, no longer where in the row (`detail = none`): a search asks it for the rows
-- holding every trigram of the term, and the `LIKE` on the row decides, as it did after
-- the phrase it asked before. Without positions the index is a third of its size, and a
-- bulk import writes and merges that much less (issue 18: at a million registrations the
-- index's merges were what made each imported row cost more than at ten thousand).
-- It merges 16 segments of a level at a time instead of 4: each row's entries are
-- rewritten about half as often as the index grows, and a search reads a few more
-- segments.
DROP TABLE registrations_fts;
CREATE VIRTUAL TABLE registrations_fts USING fts5(search, tokenize = 'trigram', detail = none);
INSERT INTO registrations_fts (registrations_fts, rank) VALUES ('automerge', 16);
INSERT INTO registrations_fts (rowid, search) SELECT rowid, search FROM registrations;
