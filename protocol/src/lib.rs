//! Akashi's shared library: the protocols, credential formats, keys and DIDs that the
//! issuer agent, the holder agent (wallet) and the verifier have in common.
//!
//! Layering: `oid4vci` / `oid4vp` use `sd_jwt` and `ob3`, which use `jose`, `keys` and
//! `did`; nothing here knows a service's tables, routes or pages.

pub mod b64;
pub mod baked;
pub mod base45;
pub mod cache;
pub mod clock;
pub mod did;
pub mod fetch;
/// The bodies of the `cargo fuzz` targets (`fuzz/`), replayed by `tests/fuzz_corpus.rs`.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod invitation;
pub mod issuer_key;
pub mod jose;
pub mod keys;
pub mod oauth;
pub mod ob3;
pub mod offline_card;
pub mod oid4vci;
pub mod oid4vp;
pub mod private_files;
pub mod qr;
pub mod sd_jwt;
pub mod secret;
pub mod status;
pub mod tlog;
pub mod vc;
/// The one verification core (its Data Integrity path needs `data-integrity`).
#[cfg(feature = "data-integrity")]
pub mod verify;
pub mod x509;
