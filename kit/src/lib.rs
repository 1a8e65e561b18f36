//! Akashi's service kit: what the three services need to run beside the protocols of
//! `protocol`: the flags every service has (`config`), the database pools and migrations
//! (`db`), serving and problem+json answers (`serve`), the health probes, stop signals
//! and drain (`lifecycle`), the guarded HTTP client every
//! stranger's URL goes through (`fetch`), throttles (`throttle`), the verification core's
//! network (`network_sources`), the OpenAPI problem schemas (`openapi`), the web helpers:
//! escaping, bearer tokens, cookies, the pages' language (`web`), QR codes in uploaded
//! pictures (`picture`), a minimal tlog witness (`witness`), logs as text or JSON lines
//! (`logs`), Prometheus metrics (`metrics`), SQLite without sqlx's hand-offs: a writer
//! thread with group commit and readers on the calling thread (`sqlite`), and, with the `mail` feature, the one mailer
//! and its outbox
//! (`mail`); with the `password` feature, argon2id password hashes (`password`).

pub mod config;
pub mod db;
pub mod fetch;
pub mod lifecycle;
pub mod logs;
#[cfg(feature = "mail")]
pub mod mail;
pub mod metrics;
#[cfg(feature = "data-integrity")]
pub mod network_sources;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "password")]
pub mod password;
pub mod picture;
pub mod serve;
pub mod sqlite;
pub mod throttle;
pub mod web;
pub mod witness;
