//! RFC 6962 §2.1 Merkle tree hashes, inclusion and consistency proofs, with the
//! verification algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! Trees are given as the slice of their leaf hashes (a record's hash is its leaf hash), or
//! as a [`Tree`] that keeps its complete subtrees, for a log that serves proofs of a large
//! and growing tree.

use aws_lc_rs::digest::{Context, SHA256};

use super::Hash;

/// Why a proof was refused, or could not be produced.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {old} is larger than tree size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("proof has {found} hashes, a tree of this shape needs {expected}")]
    WrongLength { expected: usize, found: usize },
    #[error("proof does not lead to the tree's root hash")]
    RootMismatch,
    #[error("proof does not lead to the older tree's root hash")]
    OldRootMismatch,
    #[error("tree of size 0 has no leaves and proves nothing but its empty root")]
    EmptyTree,
    #[error("tree size {size} is larger than the {have} leaves known")]
    BeyondTree { size: u64, have: u64 },
}

/// The hash of an empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    digest(&[&[]])
}

/// The leaf hash of a record: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    digest(&[&[0x00], entry])
}

/// An interior node's hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    digest(&[&[0x01], left, right])
}

fn digest(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The largest power of two strictly smaller than `n` (n ≥ 2): RFC 6962's split point.
pub(crate) fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH(D[n]) over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of these leaves.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    inclusion_in(leaves, index, leaves.len() as u64)
}

/// PROOF(m, D[n]): the consistency proof from the tree of the first `old_size` leaves to
/// the tree of all of them.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    consistency_in(leaves, old_size, leaves.len() as u64)
}

/// Where the proofs take the Merkle tree hash of a range of leaves from: recomputed from
/// the leaf hashes (a slice), or from the complete subtrees a [`Tree`] keeps.
pub(crate) trait Subtrees {
    /// MTH(D[start:end]), `start < end`, the range inside the tree.
    fn mth(&self, start: usize, end: usize) -> Hash;
}

impl Subtrees for [Hash] {
    fn mth(&self, start: usize, end: usize) -> Hash {
        root(&self[start..end])
    }
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves of `t`.
pub(crate) fn inclusion_in<S: Subtrees + ?Sized>(
    t: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(t, index as usize, 0, size as usize, &mut out);
    Ok(out)
}

/// The consistency proof from the tree of the first `old_size` leaves of `t` to the tree
/// of its first `size`.
pub(crate) fn consistency_in<S: Subtrees + ?Sized>(
    t: &S,
    old_size: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old_size > size {
        return Err(ProofError::SizesOutOfOrder {
            old: old_size,
            new: size,
        });
    }
    let mut out = Vec::new();
    if old_size > 0 && old_size < size {
        subproof(t, old_size as usize, 0, size as usize, true, &mut out);
    }
    Ok(out)
}

/// PATH(m, D[start:end]) (RFC 6962 §2.1.1), `m` counted from `start`.
fn path<S: Subtrees + ?Sized>(t: &S, m: usize, start: usize, end: usize, out: &mut Vec<Hash>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(t, m, start, start + k, out);
        out.push(t.mth(start + k, end));
    } else {
        path(t, m - k, start + k, end, out);
        out.push(t.mth(start, start + k));
    }
}

/// SUBPROOF(m, D[start:end], complete) (RFC 6962 §2.1.2), `m` counted from `start`.
fn subproof<S: Subtrees + ?Sized>(
    t: &S,
    m: usize,
    start: usize,
    end: usize,
    complete: bool,
    out: &mut Vec<Hash>,
) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(t.mth(start, end));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(t, m, start, start + k, complete, out);
        out.push(t.mth(start + k, end));
    } else {
        subproof(t, m - k, start + k, end, false, out);
        out.push(t.mth(start, start + k));
    }
}

/// A growing tree that keeps the hash of every complete subtree: the leaf hashes, the
/// hashes of each aligned pair of them, of each aligned four, and so on (about two hashes,
/// 64 bytes, per leaf). Every range RFC 6962's recursions ask for is made of such
/// subtrees along one spine, so a root, an inclusion or a consistency proof of any of its
/// sizes costs O(log² n) hashes instead of the O(n) of the slice functions above, and a
/// new leaf costs one hash per subtree it completes (two on average).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// `levels[j][i]`: MTH of leaves `i·2^j .. (i+1)·2^j`, for each such range complete.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new() -> Tree {
        Tree::default()
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf hash, and the hash of each subtree it completes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(hash);
            let n = nodes.len();
            if !n.is_multiple_of(2) {
                return;
            }
            hash = node_hash(&nodes[n - 2], &nodes[n - 1]);
            level += 1;
        }
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.leaves(index, index.checked_add(1)?).map(|l| l[0])
    }

    /// The leaf hashes `start..end`.
    pub fn leaves(&self, start: u64, end: u64) -> Option<&[Hash]> {
        self.nodes(0, start, end)
    }

    /// The hashes of the complete subtrees of height `level` (spanning `2^level` leaves)
    /// numbered `start..end`: a tile's content (C2SP tlog-tiles, `level` = 8 × the tile's).
    pub fn nodes(&self, level: u32, start: u64, end: u64) -> Option<&[Hash]> {
        let nodes = self.levels.get(usize::try_from(level).ok()?)?;
        nodes.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    fn check(&self, size: u64) -> Result<(), ProofError> {
        if size > self.len() {
            return Err(ProofError::BeyondTree {
                size,
                have: self.len(),
            });
        }
        Ok(())
    }

    /// MTH of the tree of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, ProofError> {
        self.check(size)?;
        Ok(match size {
            0 => empty_root(),
            n => self.mth(0, n as usize),
        })
    }

    /// PATH(index, D[size]), as [`inclusion_proof`] over the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check(size)?;
        inclusion_in(self, index, size)
    }

    /// PROOF(old_size, D[size]), as [`consistency_proof`] over the first `size` leaves.
    pub fn consistency_proof(&self, old_size: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check(size)?;
        consistency_in(self, old_size, size)
    }
}

impl Subtrees for Tree {
    fn mth(&self, start: usize, end: usize) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            if let Some(hash) = self.levels.get(level).and_then(|l| l.get(start >> level)) {
                return *hash;
            }
        }
        // Not one complete subtree: RFC 6962's split, whose left part always is one.
        let k = split(n);
        node_hash(&self.mth(start, start + k), &self.mth(start + k, end))
    }
}

/// The number of hashes an inclusion proof of `index` in a tree of `size` has: one per
/// level where the node on the path has a sibling (it is a right child, or not the last).
fn inclusion_len(index: u64, size: u64) -> usize {
    let (mut fn_, mut sn) = (index, size - 1);
    let mut len = 0;
    while sn > 0 {
        if fn_ & 1 == 1 || fn_ != sn {
            len += 1;
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    len
}

/// Verifies that `leaf` is at `index` in the tree of `size` whose root is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len(),
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                expected,
                found: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len(),
        });
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `new_size` with root `new_root` extends the tree of
/// `old_size` with root `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                found: proof.len(),
            });
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let bad_len = || ProofError::WrongLength {
        expected: consistency_len(old_size, new_size),
        found: proof.len(),
    };
    if proof.len() != consistency_len(old_size, new_size) {
        return Err(bad_len());
    }
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(bad_len());
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(bad_len());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(bad_len());
    }
    if &fr != old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The number of hashes a consistency proof from `old` to `new` has (0 < old < new).
fn consistency_len(old: u64, new: u64) -> usize {
    // SUBPROOF's recursion, counted without hashing.
    fn count(m: u64, n: u64, complete: bool) -> usize {
        if m == n {
            return usize::from(!complete);
        }
        let mut k = 1u64;
        while k << 1 < n {
            k <<= 1;
        }
        if m <= k {
            count(m, k, complete) + 1
        } else {
            count(m - k, n - k, false) + 1
        }
    }
    count(old, new, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Hash {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The RFC 6962 reference leaves (certificate-transparency's test data).
    fn reference_leaves() -> Vec<Hash> {
        let entries: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        entries.iter().map(|e| leaf_hash(e)).collect()
    }

    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn roots_match_the_rfc_6962_reference_values() {
        let leaves = reference_leaves();
        assert_eq!(empty_root(), unhex(ROOTS[0]), "empty tree is SHA-256(\"\")");
        for n in 0..=8 {
            assert_eq!(root(&leaves[..n]), unhex(ROOTS[n]), "size {n}");
        }
    }

    #[test]
    fn inclusion_proofs_match_the_reference_vectors() {
        let leaves = reference_leaves();
        let p0 = inclusion_proof(&leaves, 0).unwrap();
        assert_eq!(
            p0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
            .map(unhex)
        );
        let p5 = inclusion_proof(&leaves, 5).unwrap();
        assert_eq!(
            p5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
            .map(unhex)
        );
        let r8 = unhex(ROOTS[8]);
        verify_inclusion(&leaves[5], 5, 8, &p5, &r8).unwrap();
    }

    #[test]
    fn consistency_proof_matches_the_reference_vector() {
        let leaves = reference_leaves();
        let p = consistency_proof(&leaves, 2).unwrap();
        assert_eq!(
            p,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
            .map(unhex)
        );
        verify_consistency(2, 8, &unhex(ROOTS[2]), &unhex(ROOTS[8]), &p).unwrap();
    }

    fn many(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u32).to_be_bytes()))
            .collect()
    }

    #[test]
    fn every_inclusion_and_consistency_proof_round_trips() {
        let leaves = many(70);
        for n in 1..=leaves.len() {
            let tree = &leaves[..n];
            let r = root(tree);
            for i in 0..n {
                let p = inclusion_proof(tree, i as u64).unwrap();
                verify_inclusion(&tree[i], i as u64, n as u64, &p, &r)
                    .unwrap_or_else(|e| panic!("leaf {i} of {n}: {e}"));
            }
            for m in 0..=n {
                let p = consistency_proof(tree, m as u64).unwrap();
                verify_consistency(m as u64, n as u64, &root(&tree[..m]), &r, &p)
                    .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
            }
        }
    }

    /// The kept subtrees give the same roots and proofs as the leaves, for every size,
    /// index and older size of trees up to 300 leaves (across three levels of 2⁸ and the
    /// ragged right edges), read off one tree that grew leaf by leaf.
    #[test]
    fn the_tree_of_kept_subtrees_agrees_with_the_leaves_everywhere() {
        let leaves = many(300);
        let mut tree = Tree::new();
        assert_eq!(tree.root(0), Ok(empty_root()));
        for leaf in &leaves {
            tree.push(*leaf);
        }
        assert_eq!(tree.len(), 300);
        for n in 1..=leaves.len() {
            let prefix = &leaves[..n];
            assert_eq!(tree.root(n as u64).unwrap(), root(prefix), "root of {n}");
            for i in 0..n as u64 {
                assert_eq!(
                    tree.inclusion_proof(i, n as u64).unwrap(),
                    inclusion_proof(prefix, i).unwrap(),
                    "leaf {i} of {n}"
                );
            }
            for m in 0..=n as u64 {
                assert_eq!(
                    tree.consistency_proof(m, n as u64).unwrap(),
                    consistency_proof(prefix, m).unwrap(),
                    "{m} -> {n}"
                );
            }
        }
        // A tile's hashes are the kept subtrees of its height.
        assert_eq!(tree.nodes(8, 0, 1).unwrap(), &[root(&leaves[..256])]);
        assert_eq!(tree.nodes(2, 3, 4).unwrap(), &[root(&leaves[12..16])]);
        assert_eq!(tree.leaves(5, 7).unwrap(), &leaves[5..7]);
        assert_eq!(tree.nodes(8, 1, 2), None, "the second 256 are not complete");
    }

    #[test]
    fn the_tree_refuses_sizes_it_has_not_seen() {
        let mut tree = Tree::new();
        for leaf in many(5) {
            tree.push(leaf);
        }
        let beyond = ProofError::BeyondTree { size: 6, have: 5 };
        assert_eq!(tree.root(6), Err(beyond.clone()));
        assert_eq!(tree.inclusion_proof(0, 6), Err(beyond.clone()));
        assert_eq!(tree.consistency_proof(2, 6), Err(beyond));
        assert_eq!(
            tree.inclusion_proof(5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            tree.consistency_proof(6, 5),
            Err(ProofError::SizesOutOfOrder { old: 6, new: 5 })
        );
    }

    #[test]
    fn a_proof_for_another_leaf_is_refused() {
        let leaves = many(13);
        let r = root(&leaves);
        let p = inclusion_proof(&leaves, 4).unwrap();
        assert_eq!(
            verify_inclusion(&leaves[5], 4, 13, &p, &r),
            Err(ProofError::RootMismatch)
        );
        // The right leaf claimed at another index of the same proof shape.
        assert_eq!(
            verify_inclusion(&leaves[4], 5, 13, &p, &r),
            Err(ProofError::RootMismatch)
        );
    }

    #[test]
    fn a_wrong_tree_size_is_refused() {
        let leaves = many(13);
        let r = root(&leaves);
        let p = inclusion_proof(&leaves, 4).unwrap();
        // The proof of the 13-leaf tree, checked against the 12-leaf tree's head (size and
        // root come together from a checkpoint).
        assert_eq!(
            verify_inclusion(&leaves[4], 4, 12, &p, &root(&leaves[..12])),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_inclusion(&leaves[4], 4, 17, &p, &r),
            Err(ProofError::WrongLength {
                expected: 5,
                found: 4
            })
        );
        assert_eq!(
            verify_inclusion(&leaves[4], 13, 13, &p, &r),
            Err(ProofError::IndexOutOfRange {
                index: 13,
                size: 13
            })
        );
        let c = consistency_proof(&leaves, 6).unwrap();
        assert!(verify_consistency(7, 13, &root(&leaves[..6]), &r, &c).is_err());
        assert_eq!(
            verify_consistency(14, 13, &r, &r, &c),
            Err(ProofError::SizesOutOfOrder { old: 14, new: 13 })
        );
    }

    #[test]
    fn a_truncated_or_padded_proof_is_refused() {
        let leaves = many(13);
        let r = root(&leaves);
        let p = inclusion_proof(&leaves, 4).unwrap();
        assert_eq!(
            verify_inclusion(&leaves[4], 4, 13, &p[..p.len() - 1], &r),
            Err(ProofError::WrongLength {
                expected: 4,
                found: 3
            })
        );
        let mut longer = p.clone();
        longer.push(r);
        assert!(matches!(
            verify_inclusion(&leaves[4], 4, 13, &longer, &r),
            Err(ProofError::WrongLength { .. })
        ));
        let c = consistency_proof(&leaves, 6).unwrap();
        assert!(matches!(
            verify_consistency(6, 13, &root(&leaves[..6]), &r, &c[..c.len() - 1]),
            Err(ProofError::WrongLength { .. })
        ));
        assert!(matches!(
            verify_consistency(6, 13, &root(&leaves[..6]), &r, &[]),
            Err(ProofError::WrongLength { .. })
        ));
    }

    #[test]
    fn a_forked_history_is_not_consistent() {
        let leaves = many(13);
        let mut forked = leaves.clone();
        forked[3] = leaf_hash(b"rewritten");
        let p = consistency_proof(&leaves, 6).unwrap();
        assert_eq!(
            verify_consistency(6, 13, &root(&forked[..6]), &root(&leaves), &p),
            Err(ProofError::OldRootMismatch)
        );
        assert_eq!(
            verify_consistency(13, 13, &root(&forked), &root(&leaves), &[]),
            Err(ProofError::RootMismatch)
        );
    }
}
