//! The wallet-registration invitation: a JWT the issuer signs with its credential-signing
//! key and puts in the link of the invitation email. The wallet verifies it against the
//! issuer's published key (the `kid` is a did:web key of the issuer, as for its badges), so
//! the link proves that the issuer invited this address; when the account exists, the
//! wallet calls `callback` with the same token as its bearer credential, and the issuer
//! sends the badge-receipt email.
//!
//! Header `typ` is [`INVITATION_TYP`]; the claims are [`Invitation`].

use serde::{Deserialize, Serialize};

use crate::jose::{JoseError, Jws};
use crate::keys::{Jwk, Signer, VerifyingKey};

/// The JOSE `typ` of an invitation (explicit typing, RFC 8725 §3.11).
pub const INVITATION_TYP: &str = "akashi-invitation+jwt";

/// What the issuer asserts by signing an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The credential issuer identifier (its https URL).
    pub iss: String,
    /// The registration the invitation is for (opaque to the wallet).
    pub sub: String,
    /// The invited address: the wallet pre-fills it and counts it as confirmed.
    pub email: String,
    /// The recipient's name as the issuer knows it.
    pub name: String,
    /// The issuer's display name.
    pub issuer_name: String,
    /// The badge waiting for the recipient.
    pub achievement: String,
    /// `en` or `ja`: the language of the emails, a hint for the wallet's pages.
    pub locale: String,
    /// Where the wallet POSTs, with this token as `Authorization: Bearer`, once the
    /// account is registered. Same origin as `iss`.
    pub callback: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why an invitation was refused; each names the check that failed.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    #[error("invitation: {0}")]
    Jose(#[from] JoseError),
    #[error("invitation: claims are not an invitation: {0}")]
    Claims(String),
    #[error("invitation: signature does not verify with the issuer's key")]
    Signature,
    #[error("invitation: expired at {0}")]
    Expired(i64),
    #[error("invitation: issued in the future ({0})")]
    NotYetValid(i64),
    #[error("invitation: callback {callback} is not on the issuer's origin {iss}")]
    ForeignCallback { callback: String, iss: String },
    #[error("invitation: issued by {found}, expected {expected}")]
    WrongIssuer { expected: String, found: String },
}

impl Invitation {
    /// Signs the invitation (ES256 with the issuer's `kid`).
    pub fn sign(&self, signer: &dyn Signer, kid: &str) -> String {
        Jws::sign(crate::jose::header(INVITATION_TYP, Some(kid)), self, signer)
    }
}

/// A decoded invitation whose signature has not been checked yet: the caller resolves the
/// key from `iss` and `kid`, then calls [`Unverified::verify`].
#[derive(Debug)]
pub struct Unverified {
    jws: Jws,
    pub claims: Invitation,
}

impl Unverified {
    /// Parses a compact invitation: shape, `typ`, claims, and that the callback lives on the
    /// issuer's origin (so a signed invitation cannot send the wallet elsewhere).
    pub fn decode(compact: &str) -> Result<Self, InvitationError> {
        let jws = Jws::decode(compact.trim())?;
        jws.expect_typ(&[INVITATION_TYP])?;
        let claims: Invitation =
            serde_json::from_value(serde_json::Value::Object(jws.payload.clone()))
                .map_err(|e| InvitationError::Claims(e.to_string()))?;
        let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
        match (origin(&claims.iss), origin(&claims.callback)) {
            (Some(a), Some(b)) if a == b && a.is_tuple() => {}
            _ => {
                return Err(InvitationError::ForeignCallback {
                    callback: claims.callback.clone(),
                    iss: claims.iss.clone(),
                });
            }
        }
        Ok(Unverified { jws, claims })
    }

    /// The header `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.jws.kid()
    }

    /// Checks the signature with `key` and the validity period at `now` (60 s of clock
    /// skew allowed for `iat`).
    pub fn verify(self, key: &VerifyingKey, now: i64) -> Result<Invitation, InvitationError> {
        self.jws
            .verify(key)
            .map_err(|_| InvitationError::Signature)?;
        if self.claims.exp <= now {
            return Err(InvitationError::Expired(self.claims.exp));
        }
        if self.claims.iat > now + 60 {
            return Err(InvitationError::NotYetValid(self.claims.iat));
        }
        Ok(self.claims)
    }
}

/// The JOSE `typ` of the holder-key binding a wallet sends with its callback.
pub const HOLDER_BINDING_TYP: &str = "akashi-holder-binding+jwt";

/// How old a holder-key binding may be when the issuer reads it, in seconds.
pub const HOLDER_BINDING_MAX_AGE: i64 = 300;

/// What a holder-key binding asserts: "the account invited by registration `sub` of
/// issuer `aud` holds the key in my header". Signed by that key (public key in the header
/// `jwk`), so the issuer learns the key the invited account's badges are bound to, and
/// that the wallet holds it. Sent as `holder_binding` in the body of the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderBinding {
    /// The credential issuer identifier (the invitation's `iss`).
    pub aud: String,
    /// The registration (the invitation's `sub`).
    pub sub: String,
    pub iat: i64,
}

/// Why a holder-key binding was refused; each names the check that failed.
#[derive(Debug, thiserror::Error)]
pub enum HolderBindingError {
    #[error("holder_binding: {0}")]
    Jose(#[from] JoseError),
    #[error("holder_binding: claims are not a holder binding: {0}")]
    Claims(String),
    #[error("holder_binding: header `jwk` is missing or not a usable public key: {0}")]
    Key(String),
    #[error("holder_binding: signature does not verify with the header `jwk`")]
    Signature,
    #[error("holder_binding: `aud` is {found:?}, expected {expected:?}")]
    WrongAudience { expected: String, found: String },
    #[error(
        "holder_binding: `sub` is {found:?}, but the invitation is for registration {expected:?}"
    )]
    WrongRegistration { expected: String, found: String },
    #[error("holder_binding: `iat` {iat} is not within {max_age} s before now ({now})")]
    Stale { iat: i64, now: i64, max_age: i64 },
}

impl HolderBinding {
    /// Signs the binding with the holder key, whose public JWK goes in the header.
    pub fn sign(&self, holder: &dyn Signer) -> String {
        let mut header = crate::jose::header(HOLDER_BINDING_TYP, None);
        header.insert("jwk".into(), holder.public_jwk().public_only().to_value());
        Jws::sign(header, self, holder)
    }

    /// Verifies a compact binding for registration `sub` of issuer `aud` at `now`: `typ`,
    /// the header key, the signature with it, `aud`, `sub` and freshness (60 s of clock
    /// skew). Returns the proven holder key.
    pub fn verify(
        compact: &str,
        aud: &str,
        sub: &str,
        now: i64,
    ) -> Result<Jwk, HolderBindingError> {
        let jws = Jws::decode(compact.trim())?;
        jws.expect_typ(&[HOLDER_BINDING_TYP])?;
        let jwk = jws
            .header
            .get("jwk")
            .ok_or_else(|| HolderBindingError::Key("absent".into()))
            .and_then(|v| Jwk::from_value(v).map_err(|e| HolderBindingError::Key(e.to_string())))?;
        let key = jwk
            .verifying_key()
            .map_err(|e| HolderBindingError::Key(e.to_string()))?;
        jws.verify(&key)
            .map_err(|_| HolderBindingError::Signature)?;
        let claims: HolderBinding =
            serde_json::from_value(serde_json::Value::Object(jws.payload.clone()))
                .map_err(|e| HolderBindingError::Claims(e.to_string()))?;
        if claims.aud != aud {
            return Err(HolderBindingError::WrongAudience {
                expected: aud.to_owned(),
                found: claims.aud,
            });
        }
        if claims.sub != sub {
            return Err(HolderBindingError::WrongRegistration {
                expected: sub.to_owned(),
                found: claims.sub,
            });
        }
        if claims.iat > now + 60 || claims.iat < now - HOLDER_BINDING_MAX_AGE {
            return Err(HolderBindingError::Stale {
                iat: claims.iat,
                now,
                max_age: HOLDER_BINDING_MAX_AGE,
            });
        }
        Ok(jwk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, Signer, SigningKey};

    fn vk(key: &SigningKey) -> VerifyingKey {
        key.public_jwk().verifying_key().unwrap()
    }

    fn invitation(callback: &str) -> Invitation {
        Invitation {
            iss: "https://issuer.example".into(),
            sub: "reg-1".into(),
            email: "ana@example.org".into(),
            name: "田中 アナ".into(),
            issuer_name: "Agency".into(),
            achievement: "Digital Supporter".into(),
            locale: "ja".into(),
            callback: callback.into(),
            iat: 1_000,
            exp: 2_000,
        }
    }

    #[test]
    fn round_trip_and_each_check() {
        let key = SigningKey::generate(Alg::ES256);
        let other = SigningKey::generate(Alg::ES256);
        let inv = invitation("https://issuer.example/invitations/callback");
        let token = inv.sign(&key, "did:web:issuer.example#key-1");

        let u = Unverified::decode(&token).unwrap();
        assert_eq!(u.kid(), Some("did:web:issuer.example#key-1"));
        assert_eq!(u.verify(&vk(&key), 1_500).unwrap(), inv);

        let u = Unverified::decode(&token).unwrap();
        assert!(matches!(
            u.verify(&vk(&other), 1_500),
            Err(InvitationError::Signature)
        ));
        let u = Unverified::decode(&token).unwrap();
        assert!(matches!(
            u.verify(&vk(&key), 2_000),
            Err(InvitationError::Expired(2_000))
        ));
        let u = Unverified::decode(&token).unwrap();
        assert!(matches!(
            u.verify(&vk(&key), 900),
            Err(InvitationError::NotYetValid(1_000))
        ));
    }

    #[test]
    fn callback_must_be_on_the_issuers_origin() {
        let key = SigningKey::generate(Alg::ES256);
        for bad in [
            "https://evil.example/cb",
            "http://issuer.example/cb",
            "https://issuer.example:8443/cb",
            "not a url",
        ] {
            let token = invitation(bad).sign(&key, "k");
            assert!(
                matches!(
                    Unverified::decode(&token),
                    Err(InvitationError::ForeignCallback { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_token_types_are_refused() {
        let key = SigningKey::generate(Alg::ES256);
        let token = Jws::sign(
            crate::jose::header("dc+sd-jwt", None),
            &invitation("https://issuer.example/cb"),
            &key,
        );
        assert!(matches!(
            Unverified::decode(&token),
            Err(InvitationError::Jose(JoseError::WrongTyp { .. }))
        ));
    }

    #[test]
    fn holder_binding_round_trip_and_each_check() {
        let holder = SigningKey::generate(Alg::ES256);
        let b = HolderBinding {
            aud: "https://issuer.example".into(),
            sub: "reg-1".into(),
            iat: 1_000,
        };
        let token = b.sign(&holder);
        let jwk = HolderBinding::verify(&token, "https://issuer.example", "reg-1", 1_100).unwrap();
        assert_eq!(jwk.thumbprint(), holder.public_jwk().thumbprint());
        assert!(matches!(
            HolderBinding::verify(&token, "https://other.example", "reg-1", 1_100),
            Err(HolderBindingError::WrongAudience { .. })
        ));
        assert!(matches!(
            HolderBinding::verify(&token, "https://issuer.example", "reg-2", 1_100),
            Err(HolderBindingError::WrongRegistration { .. })
        ));
        assert!(matches!(
            HolderBinding::verify(
                &token,
                "https://issuer.example",
                "reg-1",
                1_000 + HOLDER_BINDING_MAX_AGE + 1
            ),
            Err(HolderBindingError::Stale { .. })
        ));
        // Signed by another key than the one in the header.
        let other = SigningKey::generate(Alg::ES256);
        let mut header = crate::jose::header(HOLDER_BINDING_TYP, None);
        header.insert("jwk".into(), holder.public_jwk().public_only().to_value());
        let swapped = Jws::sign(header, &b, &other);
        assert!(matches!(
            HolderBinding::verify(&swapped, "https://issuer.example", "reg-1", 1_100),
            Err(HolderBindingError::Signature)
        ));
        // No key in the header, and an invitation passed off as a binding.
        let bare = Jws::sign(crate::jose::header(HOLDER_BINDING_TYP, None), &b, &holder);
        assert!(matches!(
            HolderBinding::verify(&bare, "https://issuer.example", "reg-1", 1_100),
            Err(HolderBindingError::Key(_))
        ));
        let inv = invitation("https://issuer.example/cb").sign(&holder, "k");
        assert!(matches!(
            HolderBinding::verify(&inv, "https://issuer.example", "reg-1", 1_100),
            Err(HolderBindingError::Jose(JoseError::WrongTyp { .. }))
        ));
    }
}
