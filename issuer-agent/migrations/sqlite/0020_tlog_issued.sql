-- Which log entry records each issued credential, by the base64url SHA-256 of its
-- issuer-signed JWT (the `jwt` of the `issued` entry): how `GET /log/proof/<digest>`
-- finds a badge's entry. Written in the transaction that appends the entry.
CREATE TABLE tlog_issued (
    jwt_digest TEXT PRIMARY KEY,
    idx INTEGER NOT NULL
);
