-- Bound offers (offer injection defence, OpenID4VCI issue #806): the RFC 7638 thumbprint
-- of the holder key the wallet proved it holds when it called back for an invitation of
-- this address. Offers made for this address's registrations are redeemed at the
-- credential endpoint only with key proofs of this key. NULL: the wallet sent no binding
-- (or called back before this migration), and the address's offers are unbound.
ALTER TABLE wallet_recipients ADD COLUMN holder_jkt TEXT;
