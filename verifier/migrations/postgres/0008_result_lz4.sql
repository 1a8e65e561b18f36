-- A request's result is its verification as JSON text, about 4.4 KB for one badge, which
-- PostgreSQL compresses when it stores it (over 2 KB) and decompresses each time the result
-- is read. Its default method, pglz, took about 18 µs more a write and 3 µs more a read
-- than lz4 on that text (issue 18, tenth session), on the one statement a presentation
-- writes. lz4 where the server is built with it (Debian's and most are); elsewhere the
-- default stays. Only values written from now on are affected.
DO $$
BEGIN
    ALTER TABLE requests ALTER COLUMN result SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: results stay compressed with pglz';
END
$$;
