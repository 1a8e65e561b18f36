//! Base45 (RFC 9285): bytes as text in the 45 characters of a QR code's alphanumeric mode
//! (`0-9 A-Z`, space and `$%*+-./:`), two bytes in three characters, so a QR code carries
//! them at 5.5 bits a character instead of byte mode's 8.
//!
//! The text may hold a space and `%`, which a URL cannot carry as they are: [`to_fragment`]
//! percent-encodes exactly those two (as RFC 9285 §6 suggests), which keeps the result in
//! the alphanumeric set, and [`from_fragment`] undoes it.

/// The alphabet, in value order (RFC 9285 §4).
pub const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a text is not base45; each names the check that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Base45Error {
    #[error("character {found:?} at {at} is not in the base45 alphabet")]
    Character { at: usize, found: char },
    #[error("a text of {0} characters leaves one character alone (lengths are 3n or 3n + 2)")]
    Length(usize),
    #[error("the group at {0} is worth more than its bytes can hold")]
    Overflow(usize),
    #[error("`%` at {0} is not followed by 20 or 25")]
    Escape(usize),
}

/// `bytes` as base45 text.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let mut push = |v: u32| out.push(char::from(ALPHABET[(v % 45) as usize]));
    for pair in bytes.chunks(2) {
        match *pair {
            [a, b] => {
                let n = u32::from(a) * 256 + u32::from(b);
                push(n);
                push(n / 45);
                push(n / (45 * 45));
            }
            [a] => {
                let n = u32::from(a);
                push(n);
                push(n / 45);
            }
            _ => {}
        }
    }
    out
}

fn value(at: usize, c: u8) -> Result<u32, Base45Error> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .map(|v| v as u32)
        .ok_or(Base45Error::Character {
            at,
            found: char::from(c),
        })
}

/// The bytes of base45 `text`.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let raw = text.as_bytes();
    if raw.len() % 3 == 1 {
        return Err(Base45Error::Length(raw.len()));
    }
    let mut out = Vec::with_capacity(raw.len() / 3 * 2 + 1);
    for (g, group) in raw.chunks(3).enumerate() {
        let at = g * 3;
        let values = group
            .iter()
            .enumerate()
            .map(|(i, &c)| value(at + i, c))
            .collect::<Result<Vec<u32>, _>>()?;
        let n = values.iter().rev().fold(0u32, |n, v| n * 45 + v);
        if group.len() == 3 {
            if n > 0xFFFF {
                return Err(Base45Error::Overflow(at));
            }
            out.extend_from_slice(&[(n >> 8) as u8, (n & 0xFF) as u8]);
        } else {
            if n > 0xFF {
                return Err(Base45Error::Overflow(at));
            }
            out.push(n as u8);
        }
    }
    Ok(out)
}

/// Base45 `text` fit for a URL: space as `%20` and `%` as `%25`, everything else as is
/// (still all in the QR alphanumeric set).
pub fn to_fragment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 10);
    for c in text.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`to_fragment`]: `%20` and `%25` only; any other `%` is an error.
pub fn from_fragment(text: &str) -> Result<String, Base45Error> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at = 0;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let escape = rest.get(i..i + 3);
        match escape {
            Some("%20") => out.push(' '),
            Some("%25") => out.push('%'),
            _ => return Err(Base45Error::Escape(at + i)),
        }
        rest = &rest[i + 3..];
        at += i + 3;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9285 §4.3 and §4.4 examples.
    #[test]
    fn rfc_9285_vectors() {
        for (bytes, text) in [
            (&b"AB"[..], "BB8"),
            (b"Hello!!", "%69 VD92EX0"),
            (b"base-45", "UJCLQE7W581"),
            (b"ietf!", "QED8WEX0"),
            (b"", ""),
        ] {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).unwrap(), bytes);
        }
    }

    #[test]
    fn every_length_and_byte_round_trips() {
        let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for n in 0..bytes.len() {
            let text = encode(&bytes[..n]);
            assert_eq!(text.len(), n / 2 * 3 + n % 2 * 2);
            assert_eq!(decode(&text).unwrap(), &bytes[..n]);
        }
        assert_eq!(encode(&[0xFF, 0xFF]), "FGW");
    }

    /// RFC 9285 §4.4: "GGW" is 65536 (too big for two bytes); a lone character, a
    /// lower-case letter or a character outside the alphabet are refused.
    #[test]
    fn malformed_text_is_refused() {
        assert_eq!(decode("GGW"), Err(Base45Error::Overflow(0)));
        assert_eq!(decode(":::"), Err(Base45Error::Overflow(0)));
        assert_eq!(decode("BB8A"), Err(Base45Error::Length(4)));
        assert_eq!(
            decode("bb8"),
            Err(Base45Error::Character { at: 0, found: 'b' })
        );
        assert_eq!(
            decode("BB8A~"),
            Err(Base45Error::Character { at: 4, found: '~' })
        );
        assert!(matches!(
            decode("BB8~A0"),
            Err(Base45Error::Character { at: 3, .. })
        ));
        assert_eq!(decode("ZZ"), Err(Base45Error::Overflow(0)));
    }

    #[test]
    fn fragments_escape_only_space_and_percent() {
        let text = "%69 VD92EX0";
        let f = to_fragment(text);
        assert_eq!(f, "%2569%20VD92EX0");
        assert!(f.bytes().all(|b| ALPHABET.contains(&b) && b != b' '));
        assert_eq!(from_fragment(&f).unwrap(), text);
        assert_eq!(from_fragment("AB%2"), Err(Base45Error::Escape(2)));
        assert_eq!(from_fragment("AB%41"), Err(Base45Error::Escape(2)));
        assert_eq!(from_fragment("%20%25%20X%"), Err(Base45Error::Escape(10)));
    }
}
