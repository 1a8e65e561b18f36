//! The issuance transparency log's formats and proofs: an append-only Merkle tree as in
//! RFC 6962 §2.1 / RFC 9162 §2.1 (SHA-256, leaf prefix `0x00`, node prefix `0x01`),
//! served as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>), committed to by C2SP
//! checkpoints (<https://c2sp.org/tlog-checkpoint>) that are C2SP signed notes
//! (<https://c2sp.org/signed-note>) with Ed25519 signatures.
//!
//! ```text
//! entry bytes --leaf_hash--> Hash --merkle::root/inclusion/consistency--> proofs
//!        tile::Tile (which hashes a client fetches) --tile::tile_hashes--> 8,192-byte tiles
//! checkpoint::Checkpoint --note::NoteSigner::sign--> signed note --note::open--> Verified
//! ```
//!
//! Written here rather than taken from the `tlog_tiles` / `signed_note` crates: the whole
//! is a few hundred lines over the SHA-256 and Ed25519 of aws-lc-rs (already our only
//! crypto), and Go's `golang.org/x/mod/sumdb/tlog` checks the result independently
//! (interop/tlog/).

pub mod checkpoint;
pub mod entry;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod proof;
pub mod tile;
pub mod tiled;
pub mod witness;

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

pub use merkle::{ProofError, leaf_hash, node_hash};
