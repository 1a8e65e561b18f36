-- Same-device session binding (HAIP 1.0 §5, OpenID4VP 1.0 §13.3): the SHA-256 of the
-- value the relying application derived from the browser session a request was created
-- in; the request's `response_code` opens its result only with that value shown back.
ALTER TABLE requests ADD COLUMN session_binding_hash TEXT;
