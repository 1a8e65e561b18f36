//! W3C Verifiable Credentials as Open Badges 3.0 secures them: [`jwt`] is the OB 3.0
//! VC-JWT (`jwt_vc_json`), the credential itself as the JWT payload; `data_integrity`
//! (feature `data-integrity`) the embedded `eddsa-rdfc-2022` proof of `ldp_vc`.

#[cfg(feature = "data-integrity")]
pub mod data_integrity;
pub mod jwt;
