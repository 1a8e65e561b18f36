-- Service settings made on first start and shared by every instance (as the issuer's and
-- the verifier's `settings`): here the development PKI of the wallet provider's key
-- attestations (WALLET_PROVIDER_X509_DEV), leaf and CA as standard base64 DER. The
-- certified key is derived from the sealing key and never stored; the CA's private key is
-- discarded once the leaf is signed.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
