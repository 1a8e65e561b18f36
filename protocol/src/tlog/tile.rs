//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): which tiles a tree has, their paths,
//! their contents, and entry bundles.
//!
//! Paths: `tile/<L>/<N>[.p/<W>]` (C2SP) and Go sumdb's `tile/8/<L>/<N>[.p/<W>]`, the same
//! tiles with the tile height spelled out, which `golang.org/x/mod/sumdb/tlog` reads.
//! Entry bundles: `tile/entries/<N>[.p/<W>]` (C2SP; Go's `tile/8/data/<N>` is the same
//! resource).

use super::Hash;
use super::merkle::root;

/// Hashes per full tile (tile height 8).
pub const WIDTH: u64 = 256;
/// The tile height, as Go's tile paths spell it.
pub const HEIGHT: u8 = 8;
/// The largest level a path may name (C2SP: 0 to 63).
const MAX_LEVEL: u8 = 63;

/// Why a tile path, tile or entry bundle was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TileError {
    #[error("tile path {0:?} is not of the form tile/<L>/<N>[.p/<W>] in canonical form")]
    BadPath(String),
    #[error("tile {path} lies beyond a tree of size {size}")]
    BeyondTree { path: String, size: u64 },
    #[error("tile is {found} bytes, a tile of width {width} is {expected}")]
    WrongSize {
        width: u16,
        expected: usize,
        found: usize,
    },
    #[error("entry bundle ends inside entry {index}")]
    TruncatedBundle { index: usize },
    #[error("entry {index} is {len} bytes, more than a bundle's 65,535")]
    EntryTooLarge { index: usize, len: usize },
}

/// One tile: level, index within the level, and width (256 when full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    pub level: u8,
    pub index: u64,
    pub width: u16,
}

/// What a `tile/…` path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileResource {
    /// Merkle tree hashes.
    Hashes(Tile),
    /// The entry bundle beside the level-0 tile of the same index and width.
    Entries(Tile),
}

fn pow256(level: u8) -> Option<u64> {
    WIDTH.checked_pow(u32::from(level))
}

impl Tile {
    /// Whether the tile is full (256 hashes).
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == WIDTH
    }

    /// The leaf range `[start, end)` the tile's hashes span; `None` if it overflows.
    pub fn leaf_range(&self) -> Option<(u64, u64)> {
        let span = pow256(self.level)?;
        let start = self.index.checked_mul(WIDTH)?.checked_mul(span)?;
        let end = start.checked_add(u64::from(self.width).checked_mul(span)?)?;
        Some((start, end))
    }

    /// The C2SP path, `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.index_and_width())
    }

    /// Go sumdb's path, `tile/8/<L>/<N>[.p/<W>]`.
    pub fn go_path(&self) -> String {
        format!("tile/{HEIGHT}/{}/{}", self.level, self.index_and_width())
    }

    /// The C2SP path of the entry bundle beside this level-0 tile.
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}", self.index_and_width())
    }

    fn index_and_width(&self) -> String {
        let mut n = self.index;
        let mut s = format!("{:03}", n % 1000);
        while n >= 1000 {
            n /= 1000;
            s = format!("x{:03}/{s}", n % 1000);
        }
        if !self.is_full() {
            s.push_str(&format!(".p/{}", self.width));
        }
        s
    }

    /// The tile of `level` and `index` as a tree of `size` has it: full, or the partial
    /// tile of its width; `None` if the tree has no such tile (empty tiles are not served).
    pub fn in_tree(level: u8, index: u64, size: u64) -> Option<Tile> {
        let span = pow256(level)?;
        let hashes = size / span; // complete subtrees of this level's span
        let first = index.checked_mul(WIDTH)?;
        if hashes <= first {
            return None;
        }
        let width = (hashes - first).min(WIDTH) as u16;
        Some(Tile {
            level,
            index,
            width,
        })
    }

    /// Every tile of a tree of `size`: the full tiles and the rightmost partial ones.
    pub fn all_in_tree(size: u64) -> Vec<Tile> {
        let mut out = Vec::new();
        let mut level = 0u8;
        while let Some(span) = pow256(level) {
            let hashes = size / span;
            if hashes == 0 {
                break;
            }
            for index in 0..hashes.div_ceil(WIDTH) {
                out.extend(Tile::in_tree(level, index, size));
            }
            level += 1;
        }
        out
    }

    /// The tile's content from the tree's leaf hashes: for each of its hashes, the Merkle
    /// tree hash of the `256^level` leaves it covers.
    pub fn hashes(&self, leaves: &[Hash]) -> Result<Vec<u8>, TileError> {
        let beyond = || TileError::BeyondTree {
            path: self.path(),
            size: leaves.len() as u64,
        };
        let (start, end) = self.leaf_range().ok_or_else(beyond)?;
        if end > leaves.len() as u64 {
            return Err(beyond());
        }
        let span = pow256(self.level).ok_or_else(beyond)? as usize;
        let mut out = Vec::with_capacity(32 * usize::from(self.width));
        for chunk in leaves[start as usize..end as usize].chunks(span) {
            out.extend_from_slice(&root(chunk));
        }
        Ok(out)
    }

    /// Splits a fetched tile into its hashes, refusing a tile of the wrong size.
    pub fn parse_hashes(&self, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
        let expected = 32 * usize::from(self.width);
        if bytes.len() != expected {
            return Err(TileError::WrongSize {
                width: self.width,
                expected,
                found: bytes.len(),
            });
        }
        Ok(bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect())
    }
}

impl TileResource {
    /// Parses a path relative to the log's prefix (`tile/…`), in C2SP or Go form. Only
    /// canonical paths are accepted (the one spelling [`Tile::path`] writes), so a cache
    /// never holds two names for one tile.
    pub fn parse(path: &str) -> Result<TileResource, TileError> {
        let bad = || TileError::BadPath(path.chars().take(200).collect());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (kind, rest) = rest.split_once('/').ok_or_else(bad)?;
        // Go's form begins with the height 8, then the level or `data`. A C2SP level-8
        // tile path has a 3-character index element next, never 1-2 digits or `data`.
        let (level, rest, go) = match rest.split_once('/') {
            Some((second, tail))
                if kind == "8"
                    && (second == "data"
                        || (!second.is_empty()
                            && second.len() <= 2
                            && second.bytes().all(|b| b.is_ascii_digit()))) =>
            {
                (second, tail, true)
            }
            _ => (kind, rest, false),
        };
        let (index, width) = parse_index_and_width(rest).ok_or_else(bad)?;
        let resource = if level == "entries" && !go || level == "data" && go {
            TileResource::Entries(Tile {
                level: 0,
                index,
                width,
            })
        } else {
            let level: u8 = level.parse().map_err(|_| bad())?;
            if level > MAX_LEVEL {
                return Err(bad());
            }
            TileResource::Hashes(Tile {
                level,
                index,
                width,
            })
        };
        let canonical = match (resource, go) {
            (TileResource::Hashes(t), false) => t.path(),
            (TileResource::Hashes(t), true) => t.go_path(),
            (TileResource::Entries(t), false) => t.entries_path(),
            (TileResource::Entries(t), true) => format!("tile/8/data/{}", t.index_and_width()),
        };
        if canonical != path {
            return Err(bad());
        }
        Ok(resource)
    }
}

fn parse_index_and_width(s: &str) -> Option<(u64, u16)> {
    let (n, width) = match s.split_once(".p/") {
        Some((n, w)) => {
            let w: u16 = w.parse().ok()?;
            if !(1..WIDTH as u16).contains(&w) {
                return None;
            }
            (n, w)
        }
        None => (s, WIDTH as u16),
    };
    let parts: Vec<&str> = n.split('/').collect();
    if parts.len() > 7 {
        return None;
    }
    let mut index: u64 = 0;
    for (i, part) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            part.strip_prefix('x')?
        } else {
            part
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some((index, width))
}

/// An entry bundle: each entry as a big-endian `u16` length, then its bytes.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for (index, e) in entries.into_iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// The entries of a bundle.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, TileError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let index = out.len();
        let Some((len, rest)) = bytes.split_first_chunk::<2>() else {
            return Err(TileError::TruncatedBundle { index });
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(TileError::TruncatedBundle { index });
        }
        out.push(rest[..len].to_vec());
        bytes = &rest[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::merkle::leaf_hash;

    fn t(level: u8, index: u64, width: u16) -> Tile {
        Tile {
            level,
            index,
            width,
        }
    }

    #[test]
    fn paths_follow_the_spec_examples() {
        assert_eq!(t(0, 1234067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(t(1, 5, 17).path(), "tile/1/005.p/17");
        assert_eq!(t(0, 1234067, 3).go_path(), "tile/8/0/x001/x234/067.p/3");
        assert_eq!(t(0, 0, 256).entries_path(), "tile/entries/000");
        for tile in [t(0, 1234067, 256), t(1, 5, 17), t(8, 0, 1), t(63, 999, 255)] {
            assert_eq!(
                TileResource::parse(&tile.path()),
                Ok(TileResource::Hashes(tile))
            );
            assert_eq!(
                TileResource::parse(&tile.go_path()),
                Ok(TileResource::Hashes(tile))
            );
        }
        assert_eq!(
            TileResource::parse("tile/entries/x001/002.p/9"),
            Ok(TileResource::Entries(t(0, 1002, 9)))
        );
        assert_eq!(
            TileResource::parse("tile/8/data/002"),
            Ok(TileResource::Entries(t(0, 2, 256)))
        );
    }

    #[test]
    fn non_canonical_and_hostile_paths_are_refused() {
        for p in [
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/64/000",
            "tile/00/000",
            "tile/0/../000",
            "tile/-1/000",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/0/x99999999999999999999/000",
            "tile/entries/000.p/",
            "tiles/0/000",
            "tile/0/000/",
            "",
        ] {
            assert!(
                matches!(TileResource::parse(p), Err(TileError::BadPath(_))),
                "{p:?} accepted"
            );
        }
    }

    #[test]
    fn a_tree_of_70000_has_the_tiles_the_spec_lists() {
        let tiles = Tile::all_in_tree(70_000);
        let full0 = tiles.iter().filter(|t| t.level == 0 && t.is_full()).count();
        assert_eq!(full0, 273);
        assert!(tiles.contains(&t(0, 273, 112)));
        assert!(tiles.contains(&t(1, 0, 256)));
        assert!(tiles.contains(&t(1, 1, 17)));
        assert!(tiles.contains(&t(2, 0, 1)));
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        assert_eq!(
            Tile::all_in_tree(256),
            vec![t(0, 0, 256), t(1, 0, 1)],
            "a tree of 256 has a full level-0 tile and a level-1 tile of width 1"
        );
        assert_eq!(Tile::all_in_tree(0), vec![]);
        assert_eq!(Tile::in_tree(0, 1, 256), None, "empty tiles are not served");
    }

    #[test]
    fn tile_hashes_are_subtree_roots() {
        let leaves: Vec<Hash> = (0..600u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let level0 = t(0, 2, 88).hashes(&leaves).unwrap();
        assert_eq!(&level0[..32], &leaves[512]);
        let level1 = t(1, 0, 2).hashes(&leaves).unwrap();
        assert_eq!(&level1[32..], &root(&leaves[256..512]));
        assert_eq!(
            t(0, 2, 89).hashes(&leaves),
            Err(TileError::BeyondTree {
                path: "tile/0/002.p/89".into(),
                size: 600
            })
        );
        assert_eq!(
            t(0, 0, 3).parse_hashes(&[0; 95]),
            Err(TileError::WrongSize {
                width: 3,
                expected: 96,
                found: 95
            })
        );
    }

    #[test]
    fn bundles_round_trip_and_truncation_is_caught() {
        let entries: [&[u8]; 3] = [b"one", b"", b"three"];
        let b = encode_bundle(entries).unwrap();
        assert_eq!(decode_bundle(&b).unwrap(), entries.map(<[u8]>::to_vec));
        assert_eq!(
            decode_bundle(&b[..b.len() - 1]),
            Err(TileError::TruncatedBundle { index: 2 })
        );
        assert_eq!(
            decode_bundle(&[0]),
            Err(TileError::TruncatedBundle { index: 0 })
        );
        let big = vec![0u8; 70_000];
        assert_eq!(
            encode_bundle([big.as_slice()]),
            Err(TileError::EntryTooLarge {
                index: 0,
                len: 70_000
            })
        );
    }
}
