-- Each credential configuration of an offer is issued once (one credential request,
-- possibly with several proofs); a second request for it is refused.
CREATE TABLE offer_issuances (
    offer_id      TEXT NOT NULL REFERENCES offers(id),
    configuration TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    PRIMARY KEY (offer_id, configuration)
);
