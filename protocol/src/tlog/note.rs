//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 signatures (type
//! `0x01`): signing, opening, and Go's verifier-key text form
//! (`<name>+<key id hex>+<base64(0x01 || public key)>`, as `golang.org/x/mod/sumdb/note`
//! reads it).

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The signature type byte of Ed25519 note signatures.
const ED25519_TYPE: u8 = 0x01;
/// More signatures than this and the note is refused (the spec asks for at least 16).
const MAX_SIGNATURES: usize = 100;
/// A note larger than this is refused before it is parsed.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// Why a note could not be signed or was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("note is {0} bytes, more than the 1 MiB allowed")]
    TooLarge(usize),
    #[error("note is not valid UTF-8")]
    NotUtf8,
    #[error("note has a control character (U+{code:04X}) at byte {offset}")]
    ControlCharacter { offset: usize, code: u32 },
    #[error("note text is empty or does not end in a newline")]
    TextNotTerminated,
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    #[error("signature line {line} is malformed: {reason}")]
    BadSignatureLine { line: usize, reason: &'static str },
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("note is not signed by any known key (signed by: {0})")]
    NoKnownSignature(String),
    #[error("signature by {name} (key id {key_id:08x}) does not verify")]
    BadSignature { name: String, key_id: u32 },
    #[error("key name {0:?} is empty or has a space or a plus sign")]
    BadKeyName(String),
    #[error("verifier key is malformed: {0}")]
    BadVerifierKey(&'static str),
    #[error("Ed25519 private key is not a valid seed")]
    BadPrivateKey,
}

/// Key names: non-empty, no Unicode spaces, no `+`.
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadKeyName(name.chars().take(100).collect()));
    }
    Ok(())
}

/// key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4], big-endian.
pub fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(&[0x0A, ED25519_TYPE]);
    ctx.update(public);
    let d = ctx.finish();
    let b = d.as_ref();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The notes' rules on characters: valid UTF-8 (the caller has a `str`), no control
/// characters but newline.
fn check_chars(text: &str) -> Result<(), NoteError> {
    match text.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        Some((offset, c)) => Err(NoteError::ControlCharacter {
            offset,
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}

/// A log's note signing key. Its `Debug` form never shows the secret.
pub struct NoteSigner {
    name: String,
    key: Ed25519KeyPair,
    seed: [u8; 32],
    verifier: NoteVerifier,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({}, ***)", self.name)
    }
}

impl NoteSigner {
    /// A signer named `name` with the Ed25519 key of this 32-byte seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::BadPrivateKey)?;
        let public: [u8; 32] = key
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| NoteError::BadPrivateKey)?;
        Ok(Self {
            name: name.to_owned(),
            key,
            seed: *seed,
            verifier: NoteVerifier::new(name, public)?,
        })
    }

    /// A fresh random key named `name`.
    #[expect(clippy::expect_used, reason = "the system random source is available")]
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        aws_lc_rs::rand::fill(&mut seed).expect("the system random source is available");
        Self::from_seed(name, &seed)
    }

    /// The 32-byte seed, to be stored sealed.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Signs `text` (non-empty, ending in a newline, no control characters but newline)
    /// and returns the whole signed note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        if text.is_empty() || !text.ends_with('\n') {
            return Err(NoteError::TextNotTerminated);
        }
        check_chars(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&self.verifier.key_id.to_be_bytes());
        blob.extend_from_slice(sig.as_ref());
        Ok(format!(
            "{text}\n\u{2014} {} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

/// A trusted Ed25519 note key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    public: [u8; 32],
}

impl NoteVerifier {
    /// The verifier of `name` with this public key.
    pub fn new(name: &str, public: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &public),
            public,
        })
    }

    /// Parses Go's verifier key form, `<name>+<8 hex digits>+<base64(0x01 || key)>`,
    /// checking that the key id is the key's.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadVerifierKey("not name+id+key"));
        };
        if id.len() != 8 {
            return Err(NoteError::BadVerifierKey("key id is not 8 hex digits"));
        }
        let id = u32::from_str_radix(id, 16)
            .map_err(|_| NoteError::BadVerifierKey("key id is not 8 hex digits"))?;
        let key = STANDARD
            .decode(key)
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        let Some((&ED25519_TYPE, public)) = key.split_first() else {
            return Err(NoteError::BadVerifierKey(
                "key is not of type Ed25519 (0x01)",
            ));
        };
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("Ed25519 key is not 32 bytes"))?;
        let v = Self::new(name, public)?;
        if v.key_id != id {
            return Err(NoteError::BadVerifierKey("key id does not match the key"));
        }
        Ok(v)
    }

    /// Go's verifier key form.
    pub fn to_vkey(&self) -> String {
        let mut key = vec![ED25519_TYPE];
        key.extend_from_slice(&self.public);
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(key))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }
}

/// A note whose text at least one trusted key signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The text, with its final newline.
    pub text: String,
    /// The names of the trusted keys whose signatures verified.
    pub signed_by: Vec<String>,
}

/// Opens a signed note: parses it, ignores signatures by unknown keys, verifies those by
/// known ones (any failing refuses the note), and needs at least one to verify.
pub fn open(note: &[u8], verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge(note.len()));
    }
    let note = std::str::from_utf8(note).map_err(|_| NoteError::NotUtf8)?;
    check_chars(note)?;
    if !note.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    // The text ends at the last blank line; the signatures follow it.
    let body = &note[..note.len() - 1];
    let split = body.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
    let text = &note[..split + 1];
    let signatures = &note[split + 2..];
    if text.is_empty() {
        return Err(NoteError::TextNotTerminated);
    }
    let mut seen = Vec::new();
    let mut signed_by = Vec::new();
    for (i, line) in signatures.lines().enumerate() {
        let line_no = i + 1;
        if i >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let bad = |reason| NoteError::BadSignatureLine {
            line: line_no,
            reason,
        };
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("does not begin with an em dash and a space"))?;
        let (name, sig) = rest
            .split_once(' ')
            .ok_or_else(|| bad("has no space between key name and signature"))?;
        if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
            return Err(bad("key name is empty or has a space or a plus sign"));
        }
        let blob = STANDARD
            .decode(sig)
            .map_err(|_| bad("signature is not base64"))?;
        if blob.len() < 5 {
            return Err(bad("signature is shorter than a key id and one byte"));
        }
        let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
        seen.push(format!("{name} ({id:08x})"));
        let Some(v) = verifiers.iter().find(|v| v.name == name && v.key_id == id) else {
            continue;
        };
        UnparsedPublicKey::new(&ED25519, &v.public)
            .verify(text.as_bytes(), &blob[4..])
            .map_err(|_| NoteError::BadSignature {
                name: name.to_owned(),
                key_id: id,
            })?;
        signed_by.push(name.to_owned());
    }
    if seen.is_empty() {
        return Err(NoteError::NoSignatureBlock);
    }
    if signed_by.is_empty() {
        return Err(NoteError::NoKnownSignature(seen.join(", ")));
    }
    Ok(VerifiedNote {
        text: text.to_owned(),
        signed_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_the_go_sumdb_note_example() {
        // golang.org/x/mod/sumdb/note's documented example: key and signed note.
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let note = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n\
                    \n\
                    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let v = NoteVerifier::parse(vkey).unwrap();
        assert_eq!(v.to_vkey(), vkey);
        let opened = open(note.as_bytes(), &[v]).unwrap();
        assert_eq!(
            opened.text,
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
        );
        assert_eq!(opened.signed_by, ["PeterNeumann"]);
    }

    #[test]
    fn signs_and_opens_with_the_recommended_key_id() {
        let s = NoteSigner::generate("issuer.example/log").unwrap();
        let note = s.sign("hello\n").unwrap();
        let opened = open(note.as_bytes(), std::slice::from_ref(s.verifier())).unwrap();
        assert_eq!(opened.text, "hello\n");
        let again = NoteSigner::from_seed("issuer.example/log", s.seed()).unwrap();
        assert_eq!(again.verifier(), s.verifier());
        let vkey = s.verifier().to_vkey();
        assert_eq!(NoteVerifier::parse(&vkey).unwrap(), *s.verifier());
    }

    #[test]
    fn a_note_signed_by_another_key_is_refused() {
        let ours = NoteSigner::generate("issuer.example/log").unwrap();
        let theirs = NoteSigner::generate("issuer.example/log").unwrap();
        let note = theirs.sign("size 5\n").unwrap();
        // Same name, another key: its id differs, so the signature is ignored.
        assert!(matches!(
            open(note.as_bytes(), std::slice::from_ref(ours.verifier())),
            Err(NoteError::NoKnownSignature(_))
        ));
        // Another key that claims our key id: the signature is checked, and fails.
        let line = note.lines().last().unwrap();
        let blob = STANDARD.decode(line.rsplit(' ').next().unwrap()).unwrap();
        let mut forged = ours.verifier().key_id().to_be_bytes().to_vec();
        forged.extend_from_slice(&blob[4..]);
        let forged_note = format!(
            "size 5\n\n\u{2014} issuer.example/log {}\n",
            STANDARD.encode(forged)
        );
        assert_eq!(
            open(
                forged_note.as_bytes(),
                std::slice::from_ref(ours.verifier())
            ),
            Err(NoteError::BadSignature {
                name: "issuer.example/log".into(),
                key_id: ours.verifier().key_id()
            })
        );
    }

    #[test]
    fn an_altered_text_is_refused() {
        let s = NoteSigner::generate("log").unwrap();
        let note = s.sign("size 5\n").unwrap().replace("size 5", "size 6");
        assert!(matches!(
            open(note.as_bytes(), std::slice::from_ref(s.verifier())),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn notes_with_a_bad_line_are_refused_precisely() {
        let s = NoteSigner::generate("log").unwrap();
        let v = std::slice::from_ref(s.verifier());
        let good = s.sign("a\n").unwrap();
        let sig = good.lines().last().unwrap().to_owned();
        let cases: Vec<(String, NoteError)> = vec![
            (
                format!("a\n\n- log {}\n", &sig[6..]),
                NoteError::BadSignatureLine {
                    line: 1,
                    reason: "does not begin with an em dash and a space",
                },
            ),
            (
                format!("a\n\n{sig}\n\u{2014} log\n"),
                NoteError::BadSignatureLine {
                    line: 2,
                    reason: "has no space between key name and signature",
                },
            ),
            (
                format!("a\n\n{sig}\n\u{2014} log !!!\n"),
                NoteError::BadSignatureLine {
                    line: 2,
                    reason: "signature is not base64",
                },
            ),
            (
                format!("a\n\n{sig}\n\u{2014} log AAAA\n"),
                NoteError::BadSignatureLine {
                    line: 2,
                    reason: "signature is shorter than a key id and one byte",
                },
            ),
            (
                format!("a\n\n{sig}\n\n"),
                NoteError::BadSignatureLine {
                    line: 2,
                    reason: "does not begin with an em dash and a space",
                },
            ),
            (format!("a\n\n{sig}"), NoteError::TextNotTerminated),
            ("a\n".to_owned(), NoteError::NoSignatureBlock),
            ("a\nb\n".to_owned(), NoteError::NoSignatureBlock),
            (
                format!("a\r\n\n{sig}\n"),
                NoteError::ControlCharacter {
                    offset: 1,
                    code: 0x0d,
                },
            ),
        ];
        for (note, want) in cases {
            assert_eq!(open(note.as_bytes(), v), Err(want), "{note:?}");
        }
        assert_eq!(open(b"a\n\n\xff\n", v), Err(NoteError::NotUtf8));
        assert_eq!(
            open(&vec![b'a'; MAX_NOTE_BYTES + 1], v),
            Err(NoteError::TooLarge(MAX_NOTE_BYTES + 1))
        );
        let many = format!("a\n\n{}", format!("{sig}\n").repeat(MAX_SIGNATURES + 1));
        assert_eq!(open(many.as_bytes(), v), Err(NoteError::TooManySignatures));
    }

    #[test]
    fn bad_names_texts_and_verifier_keys_are_refused() {
        assert!(matches!(
            NoteSigner::generate("a b"),
            Err(NoteError::BadKeyName(_))
        ));
        assert!(matches!(
            NoteSigner::generate("a+b"),
            Err(NoteError::BadKeyName(_))
        ));
        let s = NoteSigner::generate("log").unwrap();
        assert_eq!(s.sign("no newline"), Err(NoteError::TextNotTerminated));
        assert_eq!(
            s.sign("tab\there\n"),
            Err(NoteError::ControlCharacter { offset: 3, code: 9 })
        );
        let vkey = s.verifier().to_vkey();
        // The base64 key may itself hold a `+`: split at the first two.
        let mut parts = vkey.splitn(3, '+');
        let (name, id, key) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let head = format!("{name}+{id}");
        let wrong_id = format!("log+00000000+{key}");
        assert_eq!(
            NoteVerifier::parse(&wrong_id),
            Err(NoteError::BadVerifierKey("key id does not match the key"))
        );
        assert_eq!(
            NoteVerifier::parse(&head),
            Err(NoteError::BadVerifierKey("not name+id+key"))
        );
        assert!(NoteVerifier::parse(&format!("{head}+AgAA")).is_err());
    }
}
