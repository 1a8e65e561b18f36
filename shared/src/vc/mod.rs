//! W3C Verifiable Credentials as Open Badges 3.0 secures them: [`jwt`] is the OB 3.0
//! VC-JWT (`jwt_vc_json`), the credential itself as the JWT payload.

pub mod jwt;
