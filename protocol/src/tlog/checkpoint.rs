//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>): the note text
//! `<origin>\n<tree size>\n<base64 root hash>\n[extension lines]`, signed as a note.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Hash;
use super::note::{self, NoteError, NoteSigner, NoteVerifier};

/// Why a checkpoint was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("checkpoint has no {0} line")]
    MissingLine(&'static str),
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    #[error("checkpoint tree size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    #[error("checkpoint root hash is not 32 bytes of standard base64")]
    BadRoot,
    #[error("checkpoint has an empty extension line")]
    EmptyExtension,
    #[error("checkpoint is for the log {found:?}, expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A log's tree head: its origin, size and root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Optional lines after the root hash, each non-empty.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text (already verified: see [`open`]).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingLine("final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::MissingLine("origin"))?;
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = lines
            .next()
            .ok_or(CheckpointError::MissingLine("tree size"))?;
        let bad_size = || CheckpointError::BadSize(size.chars().take(40).collect());
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad_size());
        }
        let size: u64 = size.parse().map_err(|_| bad_size())?;
        let root = lines
            .next()
            .ok_or(CheckpointError::MissingLine("root hash"))?;
        let root: Hash = STANDARD
            .decode(root)
            .map_err(|_| CheckpointError::BadRoot)?
            .try_into()
            .map_err(|_| CheckpointError::BadRoot)?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::EmptyExtension);
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The signed note of this checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(signer.sign(&self.to_text())?)
    }
}

/// Opens a signed checkpoint of the log `origin`, signed by one of `verifiers`.
pub fn open(
    note: &[u8],
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<Checkpoint, CheckpointError> {
    let opened = note::open(note, verifiers)?;
    let c = Checkpoint::parse(&opened.text)?;
    if c.origin != origin {
        return Err(CheckpointError::WrongOrigin {
            expected: origin.to_owned(),
            found: c.origin,
        });
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example_and_round_trips() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse(text).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert_eq!(c.to_text(), text);
        let with_ext = format!("{text}extra data\n");
        assert_eq!(
            Checkpoint::parse(&with_ext).unwrap().extensions,
            ["extra data"]
        );
    }

    #[test]
    fn malformed_checkpoints_are_refused_precisely() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let cases = [
            (
                "o\n5\n".to_owned(),
                CheckpointError::MissingLine("root hash"),
            ),
            (
                format!("o\n5\n{root}"),
                CheckpointError::MissingLine("final newline"),
            ),
            (format!("\n5\n{root}\n"), CheckpointError::EmptyOrigin),
            (
                format!("o\n05\n{root}\n"),
                CheckpointError::BadSize("05".into()),
            ),
            (
                format!("o\n-5\n{root}\n"),
                CheckpointError::BadSize("-5".into()),
            ),
            (
                format!("o\n+5\n{root}\n"),
                CheckpointError::BadSize("+5".into()),
            ),
            (
                format!("o\n99999999999999999999\n{root}\n"),
                CheckpointError::BadSize("99999999999999999999".into()),
            ),
            ("o\n5\nAAAA\n".to_owned(), CheckpointError::BadRoot),
            (format!("o\n5\n{}\n", &root[1..]), CheckpointError::BadRoot),
            (format!("o\n5\n{root}\n\n"), CheckpointError::EmptyExtension),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
        }
    }

    #[test]
    fn signed_checkpoints_open_only_for_their_log_and_key() {
        let signer = NoteSigner::generate("issuer.example/log").unwrap();
        let c = Checkpoint {
            origin: "issuer.example/log".into(),
            size: 3,
            root: [7; 32],
            extensions: vec![],
        };
        let note = c.sign(&signer).unwrap();
        let v = std::slice::from_ref(signer.verifier());
        assert_eq!(open(note.as_bytes(), "issuer.example/log", v), Ok(c));
        assert_eq!(
            open(note.as_bytes(), "other.example/log", v),
            Err(CheckpointError::WrongOrigin {
                expected: "other.example/log".into(),
                found: "issuer.example/log".into()
            })
        );
        let other = NoteSigner::generate("issuer.example/log").unwrap();
        assert!(matches!(
            open(
                note.as_bytes(),
                "issuer.example/log",
                std::slice::from_ref(other.verifier())
            ),
            Err(CheckpointError::Note(NoteError::NoKnownSignature(_)))
        ));
        let grown = note.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(
            open(grown.as_bytes(), "issuer.example/log", v),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
    }
}
