//! The benchmark's scenarios (the `bench` binary runs them; the journey
//! `tests/tests/journeys/bench_smoke.rs` runs each briefly): OpenID4VCI and OpenID4VP load
//! ([`load`]), the bulk import and its mail ([`bulk`], against our SMTP server on loopback,
//! [`smtp_sink`]), the verifier's pipeline step by step ([`verify_bench`]), and the services
//! as processes whose memory is read from /proc ([`procs`]), or N instances of each behind
//! HAProxy ([`deploy`]). The services run in-process
//! through the launcher's [`akashi::Stack`] unless a scenario says otherwise.

pub mod bulk;
pub mod console;
pub mod deploy;
pub mod load;
pub mod procs;
pub mod smtp_sink;
pub mod verify_bench;
