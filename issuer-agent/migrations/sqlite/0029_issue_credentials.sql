-- PostgreSQL's 0029 makes an issuance's writes one function call (issue 18). SQLite runs
-- the same steps as statements of one transaction on its writer thread, so it needs
-- nothing here; this file keeps the two directories' numbering parallel.
SELECT 1;
