//! The proof a printed card's QR code carries so that a badge verifies with no network: a
//! small SD-JWT the issuer signs for the card ([`issue`], typ [`TYP_CARD`]), presented by
//! the holder with only what they chose, packed for a QR code ([`pack`]) and unpacked by
//! the verifier's offline page (`verifier/static/offline.js` does the same as [`unpack`]).
//!
//! Packing: the SD-JWT's parts are base64url-decoded (JWS header, payload, signature, then
//! each disclosure), written as `u16` big-endian length + bytes, compressed with raw
//! DEFLATE (RFC 1951), then written in base45 ([`crate::base45`]) after [`PREFIX`]. The
//! parts are re-encoded exactly on unpacking (base64url without padding is canonical), so
//! the issuer's signature and the disclosure digests hold. No KB-JWT: see [`pack`].

use std::io::{Read, Write};

use serde_json::{Map, Value, json};

use crate::b64;
use crate::base45::{self, Base45Error};
use crate::keys::Signer;
use crate::sd_jwt::{self, SdJwt, SdJwtError};

/// The JOSE `typ` of a card credential.
pub const TYP_CARD: &str = "akashi-card+sd-jwt";
/// What a packed card proof starts with: the format and its version.
pub const PREFIX: &str = "AK1:";
/// The longest text [`unpack`] reads: a QR code of version 40 holds 4,296 alphanumeric
/// characters at most.
pub const MAX_TEXT: usize = 4296;
/// The most bytes a card proof inflates to.
pub const MAX_INFLATED: usize = 4096;
/// The most parts (header, payload, signature and disclosures).
pub const MAX_PARTS: usize = 16;

/// Why a card proof could not be made or read; each names the check that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CardProofError {
    #[error("does not start with {PREFIX}")]
    Prefix,
    #[error("{0} characters is more than the {MAX_TEXT} a QR code holds")]
    TooLong(usize),
    #[error("base45: {0}")]
    Base45(#[from] Base45Error),
    #[error("not raw DEFLATE data, or more than {MAX_INFLATED} bytes once inflated")]
    Inflate,
    #[error("packed parts: {0}")]
    Parts(&'static str),
    #[error("SD-JWT: {0}")]
    SdJwt(#[from] SdJwtError),
}

/// What a card says, as the issuer signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardClaims {
    /// The issuer identifier (`iss`), whose keys verify the card.
    pub iss: String,
    pub iat: i64,
    /// The badge's own expiry, if it has one.
    pub exp: Option<i64>,
    /// The badge's entry in the issuer's Token Status List: revoking the badge revokes
    /// the card.
    pub status_uri: String,
    pub status_idx: i64,
    /// The recipient's name, when the badge names one: selectively disclosable (`name`).
    pub holder_name: Option<String>,
    /// The achievement's name (`badge`) and the issuer's name (`issuer_name`): always shown.
    pub badge: String,
    pub issuer_name: String,
}

/// Signs a card credential: `typ` [`TYP_CARD`], `kid`, and a payload holding `iss`, `iat`,
/// `exp`, `status`, `badge`, `issuer_name` and a digest of the `name` disclosure (no decoys:
/// the card has one concealable claim, and its size matters).
pub fn issue(claims: &CardClaims, kid: &str, signer: &dyn Signer) -> Result<SdJwt, SdJwtError> {
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(claims.iss));
    payload.insert("iat".into(), json!(claims.iat));
    if let Some(exp) = claims.exp {
        payload.insert("exp".into(), json!(exp));
    }
    payload.insert(
        "status".into(),
        json!({ "status_list": { "idx": claims.status_idx, "uri": claims.status_uri } }),
    );
    payload.insert("badge".into(), json!(claims.badge));
    payload.insert("issuer_name".into(), json!(claims.issuer_name));
    let conceal: &[&str] = match &claims.holder_name {
        Some(name) => {
            payload.insert("name".into(), json!(name));
            &["/name"]
        }
        None => &[],
    };
    sd_jwt::issue(
        payload,
        conceal,
        0,
        crate::jose::header(TYP_CARD, Some(kid)),
        signer,
    )
}

/// Packs an SD-JWT presentation as `AK1:` + base45. A KB-JWT, if any, is dropped: a card is
/// printed once and read by anyone who sees it, so a KB-JWT on it could name neither a
/// verifier nor a nonce and would prove nothing but cost ~270 characters; the card is a
/// bearer proof of what the issuer signed, like the public page it replaces.
pub fn pack(sd: &SdJwt) -> Result<String, CardProofError> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut jws = sd.jwt.split('.');
    for _ in 0..3 {
        let part = jws
            .next()
            .ok_or(CardProofError::Parts("the JWS has fewer than three parts"))?;
        parts.push(b64::decode(part).map_err(|_| CardProofError::Parts("JWS part not base64url"))?);
    }
    if jws.next().is_some() {
        return Err(CardProofError::Parts("the JWS has more than three parts"));
    }
    for d in &sd.disclosures {
        parts.push(
            b64::decode(&d.encoded)
                .map_err(|_| CardProofError::Parts("disclosure not base64url"))?,
        );
    }
    if parts.len() > MAX_PARTS {
        return Err(CardProofError::Parts("too many disclosures"));
    }
    let mut raw = Vec::new();
    for part in &parts {
        let len = u16::try_from(part.len()).map_err(|_| CardProofError::Parts("part too long"))?;
        raw.extend_from_slice(&len.to_be_bytes());
        raw.extend_from_slice(part);
    }
    if raw.len() > MAX_INFLATED {
        return Err(CardProofError::Inflate);
    }
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).map_err(|_| CardProofError::Inflate)?;
    let deflated = z.finish().map_err(|_| CardProofError::Inflate)?;
    let text = format!("{PREFIX}{}", base45::encode(&deflated));
    if text.len() > MAX_TEXT {
        return Err(CardProofError::TooLong(text.len()));
    }
    Ok(text)
}

/// [`unpack`] of a URL fragment: the output of [`base45::to_fragment`] on [`pack`]'s.
pub fn unpack_fragment(fragment: &str) -> Result<String, CardProofError> {
    if fragment.len() > MAX_TEXT * 2 {
        return Err(CardProofError::TooLong(fragment.len()));
    }
    unpack(&base45::from_fragment(fragment)?)
}

/// The SD-JWT presentation (compact, `~`-terminated, no KB-JWT) packed in `text`, the
/// output of [`pack`] (base45 as RFC 9285 writes it: a space and `%` are themselves).
pub fn unpack(text: &str) -> Result<String, CardProofError> {
    if text.len() > MAX_TEXT {
        return Err(CardProofError::TooLong(text.len()));
    }
    let body = text.strip_prefix(PREFIX).ok_or(CardProofError::Prefix)?;
    let deflated = base45::decode(body)?;
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(MAX_INFLATED as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|_| CardProofError::Inflate)?;
    if raw.len() > MAX_INFLATED {
        return Err(CardProofError::Inflate);
    }
    let mut parts = Vec::new();
    let mut rest = raw.as_slice();
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(CardProofError::Parts("a length is cut short"));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(CardProofError::Parts("a part is cut short"));
        }
        parts.push(b64::encode(&tail[..len]));
        rest = &tail[len..];
        if parts.len() > MAX_PARTS {
            return Err(CardProofError::Parts("too many parts"));
        }
    }
    if parts.len() < 3 {
        return Err(CardProofError::Parts("fewer than the three JWS parts"));
    }
    let mut out = format!("{}.{}.{}~", parts[0], parts[1], parts[2]);
    for d in &parts[3..] {
        out.push_str(d);
        out.push('~');
    }
    // Every disclosure must parse as one.
    SdJwt::parse(&out)?;
    Ok(out)
}

/// The claims a verified card shows: the revealed payload's `badge`, `issuer_name` and,
/// when disclosed, `name`.
pub fn shown(revealed: &Map<String, Value>) -> (Option<&str>, Option<&str>, Option<&str>) {
    let s = |k: &str| revealed.get(k).and_then(Value::as_str);
    (s("name"), s("badge"), s("issuer_name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Signer, SigningKey, VerifyingKey};

    fn claims() -> CardClaims {
        CardClaims {
            iss: "https://issuer.example.org".into(),
            iat: 1_780_000_000,
            exp: Some(1_811_536_000),
            status_uri: "https://issuer.example.org/status/1".into(),
            status_idx: 40_213,
            holder_name: Some("山田 花子 (Hanako Yamada)".into()),
            badge: "Certified Data Steward — Level 2".into(),
            issuer_name: "Example University".into(),
        }
    }

    #[test]
    fn packs_small_and_unpacks_to_a_presentation_that_verifies() {
        let key = SigningKey::generate(crate::keys::Alg::ES256);
        let card = issue(&claims(), "k1", &key).unwrap();
        for keep in [vec![0], vec![]] {
            let shown = card.present(&keep, None);
            let packed = pack(&shown).unwrap();
            assert!(packed.starts_with(PREFIX));
            assert!(packed.len() < 700, "{} characters", packed.len());
            let fragment = base45::to_fragment(&packed);
            for back in [
                unpack(&packed).unwrap(),
                unpack_fragment(&fragment).unwrap(),
            ] {
                assert_eq!(back, shown.serialize());
                let sd = SdJwt::parse(&back).unwrap();
                let vk: VerifyingKey = key.public_jwk().verifying_key().unwrap();
                let revealed = sd.verify(&vk, &[TYP_CARD], 1_780_000_100, 0).unwrap();
                let (name, badge, issuer) = super::shown(&revealed.claims);
                assert_eq!(name.is_some(), !keep.is_empty());
                assert_eq!(badge, Some("Certified Data Steward — Level 2"));
                assert_eq!(issuer, Some("Example University"));
            }
        }
    }

    #[test]
    fn a_changed_disclosure_no_longer_matches_its_digest() {
        let key = SigningKey::generate(crate::keys::Alg::ES256);
        let card = issue(&claims(), "k1", &key).unwrap().present(&[0], None);
        let mut forged = card.clone();
        let d = &card.disclosures[0];
        let text = String::from_utf8(b64::decode(&d.encoded).unwrap())
            .unwrap()
            .replace("Hanako", "Taro");
        forged.disclosures[0] = sd_jwt::Disclosure::parse(&b64::encode(text), 0).unwrap();
        let back = SdJwt::parse(&unpack(&pack(&forged).unwrap()).unwrap()).unwrap();
        let vk = key.public_jwk().verifying_key().unwrap();
        assert!(matches!(
            back.verify(&vk, &[TYP_CARD], 1_780_000_100, 0),
            Err(SdJwtError::UnreferencedDisclosure { index: 0 })
        ));
    }

    #[test]
    fn malformed_text_is_refused_with_the_check_that_failed() {
        assert_eq!(unpack("AK2:BB8"), Err(CardProofError::Prefix));
        assert!(matches!(unpack("AK1:bb8"), Err(CardProofError::Base45(_))));
        // "AB" is a stored block cut short: no DEFLATE data, or nothing in it.
        assert!(matches!(
            unpack("AK1:BB8"),
            Err(CardProofError::Inflate | CardProofError::Parts(_))
        ));
        assert!(matches!(
            unpack_fragment(&"A".repeat(MAX_TEXT * 2 + 1)),
            Err(CardProofError::TooLong(_))
        ));
        assert!(matches!(
            unpack_fragment("AK1:%41"),
            Err(CardProofError::Base45(Base45Error::Escape(4)))
        ));
        assert!(matches!(
            unpack(&format!("AK1:{}", "0".repeat(MAX_TEXT))),
            Err(CardProofError::TooLong(_))
        ));
        // A deflate bomb: 1 MB of zeros packs small and is refused once inflated.
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = format!("{PREFIX}{}", base45::encode(&z.finish().unwrap()));
        assert!(bomb.len() < MAX_TEXT);
        assert_eq!(unpack(&bomb), Err(CardProofError::Inflate));
        // Well-formed DEFLATE of parts that do not add up.
        for raw in [&[0u8, 5, 1, 2][..], &[0, 1, 7, 0][..], &[0, 0, 0, 0][..]] {
            let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            z.write_all(raw).unwrap();
            let text = format!("{PREFIX}{}", base45::encode(&z.finish().unwrap()));
            assert!(
                matches!(unpack(&text), Err(CardProofError::Parts(_))),
                "{raw:?}"
            );
        }
    }
}
