//! Akashi's log entries: what the issuer appends for each credential it issues and each
//! status change. Never personal data: a credential is logged by the SHA-256 of the
//! credential as delivered and by its status reference; a status change by the reference
//! and the new value. Entries are compact JSON (fields in this order), and an entry's
//! record hash is [`super::leaf_hash`] of its bytes.

use serde::{Deserialize, Serialize};

/// Where a credential's status lives: the issuer's status list number and the index in it
/// (the list's URL is the issuer's `/status/<list>` or `/bitstring/<list>/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRef {
    pub list: i64,
    pub index: i64,
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Entry {
    /// A credential was issued.
    Issued {
        /// base64url SHA-256 of the credential as delivered: the compact string of an
        /// SD-JWT or VC-JWT, the JSON text of a Data Integrity credential.
        digest: String,
        /// base64url SHA-256 of the issuer-signed JWT alone (the compact text before the
        /// first `~`; for a VC-JWT the whole credential): what a presentation carries
        /// unchanged, so a verifier who never saw every disclosure finds the entry by it.
        /// Absent for a Data Integrity credential and in entries logged before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jwt: Option<String>,
        status: StatusRef,
        /// The achievement (badge class) id, so monitors can count by badge.
        achievement: String,
        /// Unix seconds.
        at: i64,
    },
    /// A card credential (the compact SD-JWT a printed card's QR carries, verified with
    /// no network) was issued for the badge whose status lives at `status`: revoking the
    /// badge revokes the card.
    Card {
        /// base64url SHA-256 of the card's issuer-signed JWT.
        jwt: String,
        status: StatusRef,
        /// Unix seconds.
        at: i64,
    },
    /// A credential's status changed (0 valid, 1 revoked, 2 suspended).
    Status {
        status: StatusRef,
        value: i64,
        at: i64,
    },
}

impl Entry {
    /// The entry's bytes as logged.
    #[expect(
        clippy::expect_used,
        reason = "a struct of strings and integers serialises"
    )]
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a struct of strings and integers serialises")
    }

    /// Parses logged bytes.
    pub fn parse(bytes: &[u8]) -> Result<Entry, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The digest an [`Entry::Issued`] carries for this credential text.
    pub fn credential_digest(credential: &str) -> String {
        crate::b64::sha256(credential)
    }

    /// The digest an [`Entry::Issued`] carries in `jwt` for this credential text: of its
    /// issuer-signed JWT; `None` for a JSON (Data Integrity) credential.
    pub fn jwt_digest(credential: &str) -> Option<String> {
        let credential = credential.trim();
        if credential.starts_with('{') || credential.is_empty() {
            return None;
        }
        let jwt = credential.split('~').next().unwrap_or(credential);
        Some(crate::b64::sha256(jwt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_have_a_fixed_form_and_round_trip() {
        let e = Entry::Issued {
            digest: Entry::credential_digest("eyJ.x.y~"),
            jwt: Entry::jwt_digest("eyJ.x.y~"),
            status: StatusRef { list: 1, index: 42 },
            achievement: "a1".into(),
            at: 1_700_000_000,
        };
        let bytes = e.to_bytes();
        assert!(bytes.starts_with(br#"{"type":"issued","digest":""#));
        assert_eq!(
            Entry::jwt_digest("eyJ.x.y~d1~"),
            Entry::jwt_digest("eyJ.x.y")
        );
        assert_ne!(
            Entry::jwt_digest("eyJ.x.y~"),
            Some(Entry::credential_digest("eyJ.x.y~"))
        );
        assert_eq!(Entry::jwt_digest(r#"{"proof":{}}"#), None);
        // An entry logged before `jwt` existed still parses.
        let old = br#"{"type":"issued","digest":"d","status":{"list":1,"index":2},"achievement":"a","at":3}"#;
        assert!(matches!(
            Entry::parse(old),
            Ok(Entry::Issued { jwt: None, .. })
        ));
        assert_eq!(Entry::parse(&bytes).unwrap(), e);
        let s = Entry::Status {
            status: StatusRef { list: 1, index: 42 },
            value: 1,
            at: 1_700_000_100,
        };
        assert_eq!(
            String::from_utf8(s.to_bytes()).unwrap(),
            r#"{"type":"status","status":{"list":1,"index":42},"value":1,"at":1700000100}"#
        );
        assert!(Entry::parse(br#"{"type":"status","status":{"list":1,"index":42},"value":1,"at":1,"name":"Alice"}"#).is_err());
        let card = Entry::Card {
            jwt: "j".into(),
            status: StatusRef { list: 1, index: 42 },
            at: 5,
        };
        assert_eq!(
            String::from_utf8(card.to_bytes()).unwrap(),
            r#"{"type":"card","jwt":"j","status":{"list":1,"index":42},"at":5}"#
        );
        assert_eq!(Entry::parse(&card.to_bytes()).unwrap(), card);
    }
}
