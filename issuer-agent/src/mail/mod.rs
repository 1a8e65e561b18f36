//! Email: the issuer's letters ([`letters`]), its outbox worker ([`worker`]) and the
//! delivery status notifications that come back ([`dsn`]), on the
//! mailer and the outbox mechanics every service shares (`kit::mail`: SMTP through kept-open
//! `TCP_NODELAY` connections, `smtps://` through lettre, or a local directory when no SMTP
//! server is configured).

pub mod dsn;
pub mod letters;
pub mod worker;

pub use kit::mail::{DirEntry, MailError, Mailer, Outgoing};
