//! End-to-end journeys: the real services booted in-process on port 0, driven over HTTP
//! as users and other implementations would. One test binary, a module per journey.

mod achievements;
mod bench_smoke;
mod card;
mod card_path;
mod check;
mod check_camera;
mod common;
mod counterfeit;
mod deferred;
mod demo;
mod desk_sessions;
mod encrypted_response;
mod file_modes;
mod formats;
mod interop;
mod issuance;
mod mail;
mod openapi;
mod presentation;
mod public_pages;
mod qr_page;
mod registration;
mod same_device;
mod templates;
mod throttling;
mod trust;
mod wallet_accounts;
mod wallet_api;
mod wallet_pages;
mod wallet_pending;
mod wallet_present;
mod wallet_scan;
mod wallet_trust;
mod webhook;
mod x509;
