//! Runs the independent implementations in `interop/` (npm `@sd-jwt/*`, the Python
//! `sd-jwt` reference, npm `jose` for JWE) as subprocesses: one JSON request on stdin, one JSON answer
//! on stdout, bounded in time. Included by the interop tests of `shared` and of the
//! end-to-end journeys with `#[path]`, so both drive the same harness.

// Each including test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use protocol::b64;
use protocol::keys::{Signer, SigningKey};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(60);

/// `interop/`, beside the crate that includes this file.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("shared/ has a parent")
        .join("interop")
}

/// `PYTHONPATH` for the Python implementations: `interop/.python`, where `./test` installs
/// `interop/requirements.txt` (`pip install --target`), before whatever the caller had.
pub fn python_path() -> std::ffi::OsString {
    let mut paths = vec![interop_dir().join(".python")];
    if let Some(outer) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&outer));
    }
    std::env::join_paths(paths).unwrap_or_else(|_| interop_dir().join(".python").into_os_string())
}

/// Fails with instructions when the independent implementations are not installed.
pub fn require_installed() {
    let dir = interop_dir();
    for pkg in ["core", "sd-jwt-vc", "crypto-nodejs"] {
        let path = dir.join("node_modules/@sd-jwt").join(pkg);
        assert!(
            path.is_dir(),
            "{} is missing: run `npm ci` in {} (interop/README.md)",
            path.display(),
            dir.display()
        );
    }
    let probe = Command::new("python3")
        .args(["-c", "import sd_jwt.verifier"])
        .env("PYTHONPATH", python_path())
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "the Python `sd-jwt` package is missing: run `./test`, which installs interop/requirements.txt into interop/.python ({})",
        String::from_utf8_lossy(&probe.stderr)
    );
}

/// Fails with instructions when the npm `jose` package (the JWE interop) is not installed.
pub fn require_jose_installed() {
    let dir = interop_dir();
    let path = dir.join("node_modules/jose/package.json");
    assert!(
        path.is_file(),
        "{} is missing: run `npm ci` in {} (interop/README.md)",
        path.display(),
        dir.display()
    );
}

/// Fails with instructions when the Digital Bazaar Data Integrity packages are not installed.
pub fn require_vc_installed() {
    let dir = interop_dir();
    for pkg in ["vc", "data-integrity", "eddsa-rdfc-2022-cryptosuite"] {
        let path = dir.join("node_modules/@digitalbazaar").join(pkg);
        assert!(
            path.is_dir(),
            "{} is missing: run `npm ci` in {} (interop/README.md)",
            path.display(),
            dir.display()
        );
    }
}

/// Runs `node openapi.mjs validate` (`@apidevtools/swagger-parser`) on an OpenAPI
/// document, see interop/openapi.mjs.
pub fn openapi_node(command: &str, input: &Value) -> Value {
    let path = interop_dir().join("node_modules/@apidevtools/swagger-parser/package.json");
    assert!(
        path.is_file(),
        "{} is missing: run `npm ci` in {} (interop/README.md)",
        path.display(),
        interop_dir().display()
    );
    run_installed("node", &["openapi.mjs", command], input)
}

/// Runs `node vc.mjs <command>` (`@digitalbazaar/vc`), see interop/vc.mjs.
pub fn vc_node(command: &str, input: &Value) -> Value {
    require_vc_installed();
    run_installed("node", &["vc.mjs", command], input)
}

/// `interop/credo/`: Credo 0.6 with its own package-lock.json and the Askar library built
/// from the `aries-askar` crate (interop/credo/build-askar.sh).
pub fn credo_dir() -> PathBuf {
    interop_dir().join("credo")
}

/// Fails with instructions when Credo or its native Askar library is not installed.
pub fn require_credo_installed() {
    let dir = credo_dir();
    for path in [
        "node_modules/@credo-ts/core/package.json",
        "node_modules/@credo-ts/openid4vc/package.json",
        "node_modules/@credo-ts/askar/package.json",
        "node_modules/@2060.io/ffi-napi/build/Release/ffi_bindings.node",
        "node_modules/@openwallet-foundation/askar-nodejs/native/libaries_askar.so",
    ] {
        let path = dir.join(path);
        assert!(
            path.is_file(),
            "{} is missing: run `./test`, which installs Credo in {} (npm ci --ignore-scripts, \
             npm rebuild of the FFI addons, then build-askar.sh builds the Askar library from \
             crates.io; interop/README.md)",
            path.display(),
            dir.display()
        );
    }
}

/// Runs `node credo/accept_sdjwt.mjs` (Credo 0.6 as a holder), see interop/credo/.
pub fn credo(input: &Value) -> Value {
    require_credo_installed();
    run_installed("node", &["credo/accept_sdjwt.mjs"], input)
}

/// Runs `program args…` in interop/ with `input` on stdin; kills it after [`TIMEOUT`].
pub fn run(program: &str, args: &[&str], input: &Value) -> Value {
    require_installed();
    run_installed(program, args, input)
}

/// Runs `node jwe.mjs <command>` (npm `jose`), see interop/jwe.mjs.
pub fn jwe_node(command: &str, input: &Value) -> Value {
    require_jose_installed();
    run_installed("node", &["jwe.mjs", command], input)
}

/// Runs the Python judge `script` (interop/), which needs the module `module` of
/// interop/requirements.txt: fails with instructions when that is not installed.
pub fn run_python(script: &str, module: &str, input: &Value) -> Value {
    let probe = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .env("PYTHONPATH", python_path())
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "the Python module `{module}` is missing: run `./test`, which installs interop/requirements.txt into interop/.python ({})",
        String::from_utf8_lossy(&probe.stderr)
    );
    run_installed("python3", &[script], input)
}

/// [`run`] without the SD-JWT install check: the caller checked what it needs.
fn run_installed(program: &str, args: &[&str], input: &Value) -> Value {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(interop_dir())
        .env("PYTHONPATH", python_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(input.to_string().as_bytes())
        .expect("write request");
    drop(stdin);
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} timed out after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().expect("reader").expect("stdout is UTF-8");
    let stderr = err.join().expect("reader").expect("stderr is UTF-8");
    assert!(
        status.success(),
        "{program} {args:?} failed ({status}): {stderr}"
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{program} {args:?} wrote no JSON ({e}): {stdout} {stderr}"))
}

pub fn node(command: &str, input: &Value) -> Value {
    run("node", &["sdjwt.mjs", command], input)
}

pub fn python(command: &str, input: &Value) -> Value {
    run("python3", &["sdjwt_py.py", command], input)
}

/// The private JWK of a P-256 key: `d` from `to_secret_bytes()` (`[1] ++ scalar`).
pub fn private_jwk(key: &SigningKey) -> Value {
    let secret = key.to_secret_bytes();
    let (tag, scalar) = secret.split_first().expect("secret bytes");
    assert_eq!((*tag, scalar.len()), (1, 32), "a P-256 key");
    let mut jwk = key.public_jwk().to_value();
    jwk["d"] = Value::String(b64::encode(scalar));
    jwk
}
