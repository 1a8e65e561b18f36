//! `bench`: measurements that run apart from the tests.
//!
//! - `bench crypto [--iterations N]` times the raw operations every issuance and
//!   presentation is built from: ES256 and EdDSA signing and verification through our
//!   `Signer` (aws-lc-rs), SD-JWT VC issuance, and the verifier's SD-JWT + KB-JWT check.
//! - `bench issuance|presentation [--clients N] [--flows N] [--seconds S]
//!   [--database-url postgres://…]` starts the real services on loopback (SQLite in a
//!   temporary directory unless a PostgreSQL URL is given) and drives whole OpenID4VCI
//!   flows or OpenID4VP round trips over HTTP with N concurrent clients.

use std::time::Instant;

use serde_json::json;
use shared::keys::{Alg, Signer, SigningKey};
use shared::sd_jwt::{self, KeyBinding, SdJwt, TYP_DC_SD_JWT};

fn time_per_op(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations.min(100) {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn crypto(iterations: u32) {
    println!("| operation | µs/op |");
    println!("|---|---:|");
    for alg in [Alg::ES256, Alg::EdDSA] {
        let key = SigningKey::generate(alg);
        let vk = key.public_jwk().verifying_key().expect("own key");
        let msg = [7u8; 256];
        let sig = key.sign(&msg);
        let s = time_per_op(iterations, || {
            std::hint::black_box(key.sign(&msg));
        });
        let v = time_per_op(iterations, || {
            vk.verify(alg, &msg, &sig).expect("verifies");
        });
        println!("| {alg} sign / verify (aws-lc-rs) | {s:.1} / {v:.1} |");
    }

    let issuer = SigningKey::generate(Alg::ES256);
    let holder = SigningKey::generate(Alg::ES256);
    let claims = json!({
        "iss": "https://issuer.example", "iat": 1_800_000_000, "vct": "https://issuer.example/vct/open-badge-v3",
        "cnf": {"jwk": holder.public_jwk().to_value()},
        "status": {"status_list": {"idx": 4, "uri": "https://issuer.example/status/1"}},
        "ld": {"credentialSubject": {"identifier": [{"identityHash": "Ana"}, {"identityHash": "sha256$00"}],
               "achievement": {"name": "Digital Supporter"}}}
    });
    let claims = claims.as_object().expect("object").clone();
    let conceal = [
        "/ld/credentialSubject/identifier/0",
        "/ld/credentialSubject/identifier/1",
        "/ld/credentialSubject/identifier",
    ];
    let issue = || {
        sd_jwt::issue(
            claims.clone(),
            &conceal,
            2,
            shared::jose::header(TYP_DC_SD_JWT, Some("did:web:issuer.example#key-1")),
            &issuer,
        )
        .expect("issues")
    };
    let t_issue = time_per_op(iterations, || {
        std::hint::black_box(issue().serialize());
    });
    println!("| SD-JWT VC issue, 3 disclosures, ES256 | {t_issue:.1} |");

    let sd = issue();
    let ik = issuer.public_jwk().verifying_key().expect("own key");
    let all = sd
        .verify(&ik, &[TYP_DC_SD_JWT], 1_800_000_000, 0)
        .expect("verifies");
    let keep = all.disclosures_for(&[vec![
        "ld".into(),
        "credentialSubject".into(),
        "identifier".into(),
        "0".into(),
    ]]);
    let pres = sd
        .present(
            &keep,
            Some(KeyBinding {
                aud: "decentralized_identifier:did:web:v.example",
                nonce: "n",
                iat: 1_800_000_000,
                signer: &holder,
            }),
        )
        .serialize();
    let t_verify = time_per_op(iterations, || {
        let p = SdJwt::parse(&pres).expect("parses");
        let r = p
            .verify(&ik, &[TYP_DC_SD_JWT], 1_800_000_000, 0)
            .expect("verifies");
        p.verify_key_binding(
            &r,
            "decentralized_identifier:did:web:v.example",
            "n",
            1_800_000_000,
            300,
            30,
        )
        .expect("binds");
    });
    println!("| SD-JWT+KB verify (issuer ES256 + KB-JWT ES256, 2 disclosures) | {t_verify:.1} |");
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn load_scenario(scenario: &str, args: &[String]) {
    let load = akashi::load::Load {
        clients: flag(args, "--clients", 16),
        flows: flag(args, "--flows", 2000),
        max_time: std::time::Duration::from_secs(flag(args, "--seconds", 60)),
    };
    let database_url: Option<String> = args
        .iter()
        .position(|a| a == "--database-url")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let storage = match database_url {
            Some(url) => akashi::Storage::Postgres {
                url,
                schema_prefix: format!("bench{}", std::process::id()),
            },
            None => akashi::Storage::Sqlite(dir.path().to_path_buf()),
        };
        let on = match &storage {
            akashi::Storage::Postgres { .. } => "PostgreSQL",
            akashi::Storage::Sqlite(_) => "SQLite",
        };
        let mut config = akashi::StackConfig::with_storage(dir.path(), storage.clone());
        config.storage = Some(storage);
        let stack = akashi::Stack::start(config, shared::clock::Clock::system())
            .await
            .expect("the stack starts");
        let report = match scenario {
            "issuance" => akashi::load::issuance(&stack, load).await,
            _ => akashi::load::presentation(&stack, load).await,
        };
        match report {
            Ok(report) => {
                println!("{} on {on}, {} clients", report.scenario, load.clients);
                println!("{}", report.table());
                if let Some(kib) = akashi::load::peak_rss_kib() {
                    println!(
                        "peak RSS of the process (services and load generator together): {} MiB",
                        kib / 1024
                    );
                }
            }
            Err(e) => eprintln!("preparing the scenario failed: {e}"),
        }
        stack.stop().await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("crypto") => crypto(flag(&args, "--iterations", 5_000)),
        Some(s @ ("issuance" | "presentation")) => load_scenario(s, &args),
        _ => {
            eprintln!(
                "usage: bench crypto [--iterations N]\n       bench issuance|presentation [--clients N] [--flows N] [--seconds S] [--database-url URL]"
            );
            std::process::exit(2);
        }
    }
}
