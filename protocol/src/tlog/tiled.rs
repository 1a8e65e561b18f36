//! Proofs a client computes from a log's public tiles (C2SP tlog-tiles) instead of asking
//! the log for them: the inclusion proof of one entry and the consistency proof between two
//! tree sizes. The log learns only which tiles were read, each shared by 256 entries (and a
//! full tile is immutable, so a client reads it once); it does not learn which badge was
//! checked, as it does from `GET /log/proof/<digest>`.
//!
//! Nothing here is trusted: the tiles are whatever the log served. The proofs are checked
//! by the caller against a signed checkpoint's root (`merkle::verify_inclusion`,
//! `verify_consistency`), so a tampered tile makes a proof that does not verify.
//!
//! ```text
//! TileSet::new(size).inclusion_proof(i) --Err(Needs(tiles))--> fetch them, insert
//!                                       --Ok(path)--> verify_inclusion(leaf, i, size, path, root)
//! ```

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::Hash;
use super::merkle::{ProofError, Subtrees, Tree, consistency_in, inclusion_in, node_hash, split};
use super::tile::{HEIGHT, Tile, WIDTH};

/// One tile's hashes, with the hash of every complete subtree of them (a tile of level L
/// holds the nodes at tree height 8·L; its subtrees are the nodes at heights 8·L + 1 …
/// 8·L + 7), so a proof takes any node of those heights by a lookup.
#[derive(Debug, Clone)]
pub struct TileHashes {
    tree: Tree,
}

impl TileHashes {
    /// The tile's hashes, as `Tile::parse_hashes` splits a fetched tile.
    pub fn new(hashes: &[Hash]) -> TileHashes {
        let mut tree = Tree::new();
        for h in hashes {
            tree.push(*h);
        }
        TileHashes { tree }
    }

    /// The number of hashes the tile holds.
    pub fn width(&self) -> u64 {
        self.tree.len()
    }

    /// The node `height` levels above the tile's own, `index`-th at that height.
    fn node(&self, height: u32, index: u64) -> Option<Hash> {
        self.tree
            .nodes(height, index, index.checked_add(1)?)
            .map(|n| n[0])
    }
}

/// Why a proof could not be computed from the tiles at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TiledError {
    /// These tiles are needed first (fetch them and [`TileSet::insert`] them).
    #[error("{} tile(s) needed", .0.len())]
    Needs(Vec<Tile>),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("a tree of {0} entries is larger than this machine can address")]
    TooLarge(u64),
}

/// The tiles of the tree of `size` entries a client has read, from which it computes proofs
/// in that tree.
#[derive(Debug, Clone)]
pub struct TileSet {
    size: u64,
    tiles: HashMap<Tile, Arc<TileHashes>>,
    /// The tiles a computation asked for and did not find.
    missing: RefCell<BTreeSet<Tile>>,
}

impl TileSet {
    /// No tiles yet of the tree of `size` entries.
    pub fn new(size: u64) -> TileSet {
        TileSet {
            size,
            tiles: HashMap::new(),
            missing: RefCell::default(),
        }
    }

    /// The size of the tree the proofs are in.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a tile read from the log (of this tree: `Tile::in_tree(…, size)`).
    pub fn insert(&mut self, tile: Tile, hashes: Arc<TileHashes>) {
        self.tiles.insert(tile, hashes);
    }

    /// PATH(index, D[size]) (RFC 6962 §2.1.1).
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>, TiledError> {
        self.addressable()?;
        let proof = inclusion_in(self, index, self.size)?;
        self.done(proof)
    }

    /// PROOF(old_size, D[size]) (RFC 6962 §2.1.2).
    pub fn consistency_proof(&self, old_size: u64) -> Result<Vec<Hash>, TiledError> {
        self.addressable()?;
        let proof = consistency_in(self, old_size, self.size)?;
        self.done(proof)
    }

    fn addressable(&self) -> Result<(), TiledError> {
        usize::try_from(self.size)
            .map(|_| ())
            .map_err(|_| TiledError::TooLarge(self.size))
    }

    /// The proof, unless a tile was missing (then the proof holds placeholders).
    fn done(&self, proof: Vec<Hash>) -> Result<Vec<Hash>, TiledError> {
        let missing = std::mem::take(&mut *self.missing.borrow_mut());
        if missing.is_empty() {
            Ok(proof)
        } else {
            Err(TiledError::Needs(missing.into_iter().collect()))
        }
    }

    /// The hash of the complete subtree of `2^height` leaves numbered `index` at that
    /// height, from the tile holding it; `None` (and the tile noted) when not at hand.
    fn complete(&self, height: u32, index: u64) -> Option<Hash> {
        let level = height / u32::from(HEIGHT);
        let above = height % u32::from(HEIGHT);
        // The node's first descendant at the tile's height, and where it sits in its tile.
        let first = index.checked_shl(above)?;
        let tile = Tile::in_tree(u8::try_from(level).ok()?, first / WIDTH, self.size)?;
        match self.tiles.get(&tile) {
            Some(hashes) => hashes.node(above, (first % WIDTH) >> above),
            None => {
                self.missing.borrow_mut().insert(tile);
                None
            }
        }
    }
}

impl Subtrees for TileSet {
    fn mth(&self, start: usize, end: usize) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let height = n.trailing_zeros();
            // A missing tile is noted and answers zeros so the walk goes on to note every
            // other tile it needs in the same pass; `done` then refuses the whole proof
            // (`TiledError::Needs`), so these zeros never leave this module.
            return self
                .complete(height, (start >> height) as u64)
                .unwrap_or_default();
        }
        let k = split(n);
        node_hash(&self.mth(start, start + k), &self.mth(start + k, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::merkle::{self, leaf_hash};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Computes with `set`, fetching each needed tile from the full tree as a log serves it.
    fn with_tiles<T>(
        all: &[Hash],
        size: u64,
        mut f: impl FnMut(&TileSet) -> Result<T, TiledError>,
    ) -> (T, usize) {
        let mut set = TileSet::new(size);
        let mut fetched = 0;
        loop {
            match f(&set) {
                Ok(v) => return (v, fetched),
                Err(TiledError::Needs(tiles)) => {
                    for t in tiles {
                        let bytes = t.hashes(&all[..size as usize]).unwrap();
                        let hashes = t.parse_hashes(&bytes).unwrap();
                        set.insert(t, Arc::new(TileHashes::new(&hashes)));
                        fetched += 1;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// The proofs made from tiles are the proofs made from all the leaves, for trees around
    /// every tile boundary, and they verify.
    #[test]
    fn proofs_from_tiles_are_the_proofs_of_the_tree() {
        let all = leaves(70_000);
        let sizes: [u64; 14] = [
            1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 65_535, 65_536, 65_537, 70_000,
        ];
        for size in sizes {
            let tree = &all[..size as usize];
            let root = merkle::root(tree);
            for index in [0, 1, size / 2, size.saturating_sub(257), size - 1] {
                if index >= size {
                    continue;
                }
                let (path, fetched) = with_tiles(&all, size, |s| s.inclusion_proof(index));
                assert_eq!(path, merkle::inclusion_proof(tree, index).unwrap());
                merkle::verify_inclusion(&tree[index as usize], index, size, &path, &root).unwrap();
                // One tile a level at most, and the rightmost partial ones.
                assert!(fetched <= 6, "{fetched} tiles for {index} of {size}");
            }
            for old in [1, 2, size / 3, size.saturating_sub(1), size] {
                if old == 0 || old > size {
                    continue;
                }
                let (proof, _) = with_tiles(&all, size, |s| s.consistency_proof(old));
                assert_eq!(proof, merkle::consistency_proof(tree, old).unwrap());
                let old_root = merkle::root(&tree[..old as usize]);
                merkle::verify_consistency(old, size, &old_root, &root, &proof).unwrap();
            }
        }
    }

    /// A tile whose one hash was changed yields a proof that does not verify.
    #[test]
    fn a_tampered_tile_makes_a_proof_that_fails() {
        let all = leaves(1000);
        let root = merkle::root(&all);
        let mut set = TileSet::new(1000);
        let Err(TiledError::Needs(tiles)) = set.inclusion_proof(700) else {
            panic!("tiles needed")
        };
        for t in tiles {
            let mut hashes = t.parse_hashes(&t.hashes(&all).unwrap()).unwrap();
            if t.level == 0 && t.index == 2 {
                hashes[189][0] ^= 1; // the sibling of entry 700 (512 + 188)
            }
            set.insert(t, Arc::new(TileHashes::new(&hashes)));
        }
        let path = set.inclusion_proof(700).unwrap();
        assert_eq!(
            merkle::verify_inclusion(&all[700], 700, 1000, &path, &root),
            Err(ProofError::RootMismatch)
        );
    }

    /// An index past the tree is refused, not looked up.
    #[test]
    fn an_index_past_the_tree_is_refused() {
        let set = TileSet::new(10);
        assert_eq!(
            set.inclusion_proof(10),
            Err(TiledError::Proof(ProofError::IndexOutOfRange {
                index: 10,
                size: 10
            }))
        );
    }
}
