-- The issuers each account registered with through an invitation, with the holder key
-- bound there (offer injection defence, OpenID4VCI issue #806): an offer that arrives from
-- an issuer the account never registered with is flagged before it is accepted.
CREATE TABLE issuer_registrations (
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    issuer        TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, issuer)
);
