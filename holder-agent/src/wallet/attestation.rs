//! The wallet's own wallet attestation (OpenID4VCI 1.0 Appendix E, HAIP 1.0 §4.3): this
//! wallet service is its own wallet provider. The provider key is Ed25519, derived from the
//! wallet's sealing key (so every instance sharing that key has it, and it is never stored
//! apart from it); each authorization code flow gets a fresh ES256 *instance* key, which
//! the provider attests for this wallet's `client_id` and which signs a proof of
//! possession (`OAuth-Client-Attestation-PoP`) for every request to the issuer. A fresh
//! instance key per flow keeps issuers from linking one person's flows by that key.
//!
//! The wallet sends the two headers when the issuer's authorization server asks for them
//! (`token_endpoint_auth_methods_supported` lists `attest_jwt_client_auth` and not
//! `none`): an issuer that merely accepts them would refuse an attestation from a provider
//! it does not list, which would turn an optional check into a failure.
//!
//! With a provider certificate chain ([`super::provider_x509`]) the attestation is signed
//! by the chain's leaf key and carries the chain in `x5c`, as the key attestations do, so
//! an issuer trusts it through its CA (`ISSUER_WALLET_ATTESTATION_X509_ANCHORS`) instead
//! of listing the provider key.

use protocol::keys::seal::SealKey;
use protocol::keys::{Signer, SigningKey};
use protocol::oauth::client_attestation::{
    self, build_attestation, build_attestation_x5c, build_pop,
};
use protocol::oid4vci::AuthorizationServerMetadata;

use crate::App;

/// The label the provider key's seed is derived under.
const PROVIDER_KEY_LABEL: &str = "akashi wallet provider key v1";
/// How long an attestation is good for, seconds: the flow's own lifetime and a margin.
pub const ATTESTATION_TTL: i64 = super::oid4vci::AUTHORIZATION_TTL + 300;

/// The wallet provider's key, derived from the sealing key.
pub fn provider_key(seal: &SealKey) -> SigningKey {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(2);
    bytes.extend_from_slice(&seal.mac(PROVIDER_KEY_LABEL, b""));
    SigningKey::from_secret_bytes(&bytes).unwrap_or_else(|_| {
        // An Ed25519 seed is any 32 bytes; this branch is never taken.
        SigningKey::generate(protocol::keys::Alg::EdDSA)
    })
}

/// The line an issuer lists this provider with (`ISSUER_WALLET_PROVIDERS`):
/// `<provider id>=<base64url of the provider's public JWK>`.
pub fn issuer_setting(provider_id: &str, provider: &SigningKey) -> String {
    format!(
        "{provider_id}={}",
        protocol::b64::encode(provider.public_jwk().to_value().to_string())
    )
}

/// Whether the authorization server asks for wallet attestations.
pub fn asked_for(metadata: &AuthorizationServerMetadata) -> bool {
    let methods = metadata
        .token_endpoint_auth_methods_supported
        .as_deref()
        .unwrap_or_default();
    methods.iter().any(|m| m == client_attestation::AUTH_METHOD)
        && !methods.iter().any(|m| m == "none")
}

/// The attestation of one flow's instance key, and that key.
pub struct Attested {
    pub instance: SigningKey,
    pub attestation: String,
}

impl App {
    /// A fresh instance key attested for `client_id` at `now`: by the provider key, or,
    /// with a provider certificate chain, by its leaf key with the chain in `x5c`.
    pub fn wallet_attestation(&self, client_id: &str, now: i64) -> Attested {
        let provider_id = self.wallet_provider_id();
        match &self.provider_x509 {
            Some(x509) => Attested::new(&x509.key, Some(&x509.x5c()), &provider_id, client_id, now),
            None => Attested::new(
                &provider_key(&self.seal),
                None,
                &provider_id,
                client_id,
                now,
            ),
        }
    }
}

impl Attested {
    /// A fresh instance key, attested by `provider` as `provider_id` for `client_id`; with
    /// `x5c` (base64 DER, leaf first; `provider` the leaf's key) the chain is carried in
    /// the attestation's header.
    pub fn new(
        provider: &SigningKey,
        x5c: Option<&[String]>,
        provider_id: &str,
        client_id: &str,
        now: i64,
    ) -> Attested {
        let instance = SigningKey::generate(protocol::keys::Alg::ES256);
        let (jwk, exp) = (instance.public_jwk(), now + ATTESTATION_TTL);
        let attestation = match x5c {
            Some(x5c) => {
                build_attestation_x5c(provider, x5c, provider_id, client_id, &jwk, now, exp)
            }
            None => build_attestation(provider, provider_id, client_id, &jwk, now, exp),
        };
        Attested {
            instance,
            attestation,
        }
    }

    /// The two headers of one request to `audience` (the authorization server's issuer),
    /// the proof of possession with a fresh `jti`.
    pub fn headers(&self, client_id: &str, audience: &str, now: i64) -> [(String, String); 2] {
        let pop = build_pop(
            &self.instance,
            client_id,
            audience,
            &protocol::b64::random(16),
            now,
        );
        [
            (
                client_attestation::HEADER_ATTESTATION.to_owned(),
                self.attestation.clone(),
            ),
            (client_attestation::HEADER_POP.to_owned(), pop),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_key_follows_the_sealing_key_and_its_attestations_verify() {
        let seal = SealKey::generate();
        let key = provider_key(&seal);
        assert_eq!(key.alg(), protocol::keys::Alg::EdDSA);
        // The same sealing key, the same provider key (every instance); another, another.
        assert_eq!(provider_key(&seal).public_jwk(), key.public_jwk());
        assert_ne!(
            provider_key(&SealKey::generate()).public_jwk(),
            key.public_jwk()
        );
        let setting = issuer_setting("https://wallet.example", &key);
        let (id, jwk) = setting.split_once('=').unwrap();
        assert_eq!(id, "https://wallet.example");
        let jwk: serde_json::Value =
            serde_json::from_slice(&protocol::b64::decode(jwk).unwrap()).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert!(jwk.get("d").is_none(), "the private part is not published");

        // Two flows, two instance keys; the headers verify under the issuer's rules.
        let a = Attested::new(
            &key,
            None,
            "https://wallet.example",
            "https://wallet.example",
            1000,
        );
        let b = Attested::new(
            &key,
            None,
            "https://wallet.example",
            "https://wallet.example",
            1000,
        );
        assert_ne!(a.instance.public_jwk(), b.instance.public_jwk());
        let [(h1, att), (h2, pop)] =
            a.headers("https://wallet.example", "https://issuer.example", 1001);
        assert_eq!(h1, client_attestation::HEADER_ATTESTATION);
        assert_eq!(h2, client_attestation::HEADER_POP);
        let provider_jwk = protocol::keys::Jwk::from_value(&jwk).unwrap();
        let keys = |iss: &str| {
            if iss == "https://wallet.example" {
                vec![provider_jwk.clone()]
            } else {
                vec![]
            }
        };
        let verified = client_attestation::verify(
            Some(&att),
            Some(&pop),
            &client_attestation::Expectations {
                audience: "https://issuer.example",
                client_id: Some("https://wallet.example"),
                now: 1001,
                max_age_secs: 300,
                leeway_secs: 5,
                x509_anchors: &protocol::x509::TrustAnchors::default(),
            },
            &keys,
        );
        assert!(verified.is_ok(), "{verified:?}");
    }

    /// With a chain, the attestation carries it in `x5c` and is signed by the leaf's key:
    /// it verifies under the chain's CA with no provider listed, and not under another CA.
    #[test]
    fn an_attestation_under_a_chain_carries_x5c_and_verifies_by_its_ca() {
        use protocol::x509::{DevPki, TrustAnchors, x5c_encode};
        const NOW: i64 = 1_800_000_000;
        let leaf_key = SigningKey::generate(protocol::keys::Alg::ES256);
        let pki = DevPki::generate("Provider", "wallet.example", &leaf_key, NOW).unwrap();
        let x5c = x5c_encode(std::slice::from_ref(&pki.leaf));
        let a = Attested::new(
            &leaf_key,
            Some(&x5c),
            "https://wallet.example",
            "https://wallet.example",
            NOW,
        );
        let header = protocol::jose::Jws::decode(&a.attestation).unwrap().header;
        assert_eq!(header["x5c"], serde_json::json!(x5c));
        let [(_, att), (_, pop)] = a.headers("https://wallet.example", "https://i.example", NOW);
        let check = |anchors: &TrustAnchors| {
            client_attestation::verify(
                Some(&att),
                Some(&pop),
                &client_attestation::Expectations {
                    audience: "https://i.example",
                    client_id: Some("https://wallet.example"),
                    now: NOW,
                    max_age_secs: 300,
                    leeway_secs: 5,
                    x509_anchors: anchors,
                },
                &|_| Vec::new(),
            )
        };
        check(&TrustAnchors::from_der(std::slice::from_ref(&pki.ca)).unwrap()).unwrap();
        let other = DevPki::generate("Other", "wallet.example", &leaf_key, NOW).unwrap();
        assert!(matches!(
            check(&TrustAnchors::from_der(&[other.ca]).unwrap()),
            Err(client_attestation::AttestationError::X5c(_))
        ));
    }

    #[test]
    fn attestations_are_sent_only_when_the_server_requires_them() {
        let mut md: AuthorizationServerMetadata =
            serde_json::from_value(serde_json::json!({"issuer": "https://i.example"})).unwrap();
        assert!(!asked_for(&md));
        md.token_endpoint_auth_methods_supported =
            Some(vec!["none".into(), client_attestation::AUTH_METHOD.into()]);
        assert!(!asked_for(&md));
        md.token_endpoint_auth_methods_supported =
            Some(vec![client_attestation::AUTH_METHOD.into()]);
        assert!(asked_for(&md));
    }
}
