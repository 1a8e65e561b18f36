//! A real headless Chromium for the page tests, driven over W3C WebDriver through the
//! system's `chromedriver` (Debian packages `chromium` and `chromium-driver`).
//!
//! [`Browser::start`] fails with a message naming the missing program rather than
//! skipping. Every [`Browser::screenshot`] is saved as a PNG under
//! `<target dir>/browser-artifacts/<test name>/NN-<step>.png` (the target directory is
//! `CARGO_TARGET_DIR`, else the workspace's `target/`), so a failed run can be looked at.
//! [`decode_qr`] reads a QR code from a screenshot with `zbarimg`.
//!
//! Every screenshot is also an accessibility check: [`Browser::screenshot`] runs `axe-core`
//! (npm, pinned in `interop/package.json`, WCAG 2.x A and AA rules) on the page it pictured
//! and fails on any serious or critical violation, naming the rule and the elements.
//!
//! Waiting is polling a condition with a deadline ([`Browser::wait_for_text`]): no sleeps.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The Chromium binary and the driver, as Debian installs them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "chromedriver";
/// How long a wait for the page may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);
/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Attempts at starting chromedriver before giving up.
const DRIVER_ATTEMPTS: usize = 3;

/// Starts chromedriver on a port the OS just gave out and waits until it answers
/// `/status`. The port is released for chromedriver to take, so another process may take it
/// first (the tests start many servers at once): a driver that exits before it answers is
/// started again on another port, up to [`DRIVER_ATTEMPTS`] times.
async fn start_driver(
    driver_bin: &std::path::Path,
    http: &reqwest::Client,
) -> Result<(Child, String), BrowserError> {
    let mut why = String::new();
    for _ in 0..DRIVER_ATTEMPTS {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| BrowserError::Driver(format!("no free port: {e}")))?
            .port();
        let mut driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BrowserError::Driver(format!("{}: {e}", driver_bin.display())))?;
        let base = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Ok((driver, base));
            }
            if let Ok(Some(status)) = driver.try_wait() {
                why = format!("exited ({status}) before answering on port {port}");
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(BrowserError::Driver(format!(
                    "not ready on port {port} after {WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Err(BrowserError::Driver(format!(
        "{DRIVER_ATTEMPTS} attempts; the last {why}"
    )))
}

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "{0} is not installed: the browser tests need Chromium and its driver (apt-get install chromium chromium-driver)"
    )]
    Missing(String),
    #[error("chromedriver: {0}")]
    Driver(String),
    #[error("WebDriver {command}: {message}")]
    Command { command: String, message: String },
    #[error("timed out after {:?} waiting for {what}; the page said: {page}", WAIT)]
    Timeout { what: String, page: String },
    #[error("artifact {path}: {source}")]
    Artifact {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("zbarimg: {0}")]
    Zbar(String),
    #[error("axe-core: {0} (is interop/node_modules installed? ./test runs npm ci)")]
    AxeMissing(String),
    #[error("axe-core found {} serious or critical accessibility violation(s) on {url} (screenshot {shot}):\n{}", .violations.len(), .violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Inaccessible {
        url: String,
        shot: PathBuf,
        violations: Vec<AxeViolation>,
    },
    #[error(
        "{url} scrolls sideways at {width} px: the page is {scroll_width} px wide; widest: {widest}"
    )]
    ScrollsSideways {
        url: String,
        width: u32,
        scroll_width: u64,
        widest: String,
    },
}

/// The two screens every page is looked at on: a desktop window and a phone.
pub const SCREENS: [(u32, &str); 2] = [(1280, "1280"), (390, "390")];

/// One rule `axe-core` found broken on a page.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AxeViolation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    pub help: String,
    /// CSS selectors of the offending elements.
    pub targets: Vec<String>,
}

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "  [{}] {}: {} — {}",
            self.impact.as_deref().unwrap_or("?"),
            self.id,
            self.help,
            self.targets.join(", ")
        )
    }
}

impl AxeViolation {
    /// Serious and critical violations fail a test; minor and moderate ones are reported
    /// by [`Browser::accessibility`] but do not.
    pub fn blocks(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }
}

/// `axe.min.js` from `interop/node_modules/axe-core`, read once.
fn axe_source() -> Result<&'static str, BrowserError> {
    static SOURCE: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    SOURCE
        .get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../interop/node_modules/axe-core/axe.min.js");
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        })
        .as_deref()
        .map_err(|e| BrowserError::AxeMissing(e.clone()))
}

/// A headless Chromium session.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`
    session: String,
    artifacts: PathBuf,
    step: u32,
    /// The session was ended by [`Browser::quit`].
    closed: bool,
}

/// Where a test's screenshots go: an absolute path with no `..` in it (Chromium refuses a
/// `--use-file-for-fake-video-capture` path that climbs with `..`: the camera journey's
/// video lives here, and found no camera on a machine without `CARGO_TARGET_DIR`).
pub fn artifacts_dir(test: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR")));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| workspace.join(dir))
        .unwrap_or_else(|| workspace.join("target"));
    let dir = target.join("browser-artifacts").join(test);
    // CARGO_TARGET_DIR itself may climb (`../t`): resolve what exists of it.
    match std::fs::canonicalize(&target) {
        Ok(real) => real.join("browser-artifacts").join(test),
        Err(_) => dir,
    }
}

fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| program.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session;
    /// screenshots go to [`artifacts_dir`]`(test)`, emptied first.
    pub async fn start(test: &str) -> Result<Browser, BrowserError> {
        Browser::start_with_args(test, &[]).await
    }

    /// As [`Browser::start`], with more Chromium command-line arguments (a fake camera:
    /// `--use-fake-device-for-media-stream`, `--use-file-for-fake-video-capture=…`).
    pub async fn start_with_args(test: &str, extra: &[String]) -> Result<Browser, BrowserError> {
        Browser::start_configured(test, extra, None).await
    }

    /// As [`Browser::start`], on a phone's screen: Chromium's mobile emulation with a
    /// viewport `width` CSS pixels wide (a headless window cannot be narrower than 500).
    pub async fn start_phone(test: &str, width: u32) -> Result<Browser, BrowserError> {
        Browser::start_configured(test, &[], Some(width)).await
    }

    async fn start_configured(
        test: &str,
        extra: &[String],
        phone_width: Option<u32>,
    ) -> Result<Browser, BrowserError> {
        let chromium = which(CHROMIUM).ok_or_else(|| BrowserError::Missing(CHROMIUM.into()))?;
        let driver_bin =
            which(CHROMEDRIVER).ok_or_else(|| BrowserError::Missing(CHROMEDRIVER.into()))?;
        let artifacts = artifacts_dir(test);
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).map_err(|source| BrowserError::Artifact {
            path: artifacts.clone(),
            source,
        })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| BrowserError::Driver(e.to_string()))?;
        let (driver, base) = start_driver(&driver_bin, &http).await?;
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-proxy-server",
            "--window-size=1000,1400",
            "--lang=en",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(extra.iter().cloned());
        let mut options = json!({
            "binary": chromium,
            "args": args,
        });
        if let Some(width) = phone_width {
            options["mobileEmulation"] = json!({"deviceMetrics": {
                "width": width, "height": 844, "pixelRatio": 1.0, "touch": true,
            }});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let r = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .map_err(|e| BrowserError::Driver(e.to_string()))?;
        let body: Value = r
            .json()
            .await
            .map_err(|e| BrowserError::Driver(e.to_string()))?;
        let id = body["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| BrowserError::Driver(format!("no session: {body}")))?;
        Ok(Browser {
            session: format!("{base}/session/{id}"),
            driver,
            http,
            artifacts,
            step: 0,
            closed: false,
        })
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, BrowserError> {
        let err = |message: String| BrowserError::Command {
            command: format!("{method} {path}"),
            message,
        };
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.map_err(|e| err(e.to_string()))?;
        let ok = r.status().is_success();
        let body: Value = r.json().await.map_err(|e| err(e.to_string()))?;
        if !ok {
            return Err(err(body["value"]["message"]
                .as_str()
                .unwrap_or("failed")
                .to_owned()));
        }
        Ok(body["value"].clone())
    }

    /// Saves what the browser downloads (a link with `download`, an attachment) into `dir`
    /// (Chromium DevTools `Browser.setDownloadBehavior`), as a person's browser would.
    pub async fn download_to(&self, dir: &Path) -> Result<(), BrowserError> {
        self.command(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Browser.setDownloadBehavior",
                "params": { "behavior": "allow", "downloadPath": dir.to_string_lossy() },
            })),
        )
        .await
        .map(drop)
    }

    /// Adds a virtual authenticator (WebAuthn §11.3 "Add Virtual Authenticator"): CTAP2,
    /// built in (`internal`), keeping discoverable credentials, verifying its user and
    /// saying so, so passkey ceremonies complete without a person. Returns its id.
    pub async fn add_virtual_authenticator(&self) -> Result<String, BrowserError> {
        let v = self
            .command(
                reqwest::Method::POST,
                "/webauthn/authenticator",
                Some(json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                })),
            )
            .await?;
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| BrowserError::Command {
                command: "POST /webauthn/authenticator".into(),
                message: format!("no authenticator id in {v}"),
            })
    }

    /// Whether a virtual authenticator verifies its user (§11.9 "Set User Verified").
    pub async fn set_user_verified(
        &self,
        authenticator: &str,
        verified: bool,
    ) -> Result<(), BrowserError> {
        self.command(
            reqwest::Method::POST,
            &format!("/webauthn/authenticator/{authenticator}/uv"),
            Some(json!({ "isUserVerified": verified })),
        )
        .await
        .map(drop)
    }

    /// The credentials a virtual authenticator holds (§11.7 "Get Credentials"): each with
    /// `credentialId`, `rpId`, `userHandle`, `signCount` (base64url ids).
    pub async fn virtual_credentials(
        &self,
        authenticator: &str,
    ) -> Result<Vec<Value>, BrowserError> {
        let v = self
            .command(
                reqwest::Method::GET,
                &format!("/webauthn/authenticator/{authenticator}/credentials"),
                None,
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<String, BrowserError> {
        let v = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        v[ELEMENT]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BrowserError::Command {
                command: format!("find {css}"),
                message: v.to_string(),
            })
    }

    /// Clears the field matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), BrowserError> {
        let el = self.find(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        )
        .await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await
        .map(drop)
    }

    /// Chooses the file at `path` in the file input matching `css` (WebDriver "element
    /// send keys" with the file's path).
    pub async fn upload(&self, css: &str, path: &Path) -> Result<(), BrowserError> {
        let el = self.find(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": path.to_string_lossy() })),
        )
        .await
        .map(drop)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<(), BrowserError> {
        let el = self.find(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// The rendered text of the element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String, BrowserError> {
        let el = self.find(css).await?;
        let v = self
            .command(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute of the element matching `css`.
    pub async fn attribute(&self, css: &str, name: &str) -> Result<Option<String>, BrowserError> {
        let el = self.find(css).await?;
        let v = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{el}/attribute/{name}"),
                None,
            )
            .await?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, BrowserError> {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The page's URL and HTML, or why they cannot be had (for error messages).
    pub async fn source(&self) -> String {
        let url = self.url().await.unwrap_or_else(|e| e.to_string());
        match self.command(reqwest::Method::GET, "/source", None).await {
            Ok(v) => format!("{url}: {}", v.as_str().unwrap_or_default()),
            Err(e) => format!("{url}: {e}"),
        }
    }

    /// Runs `script` in every page before the page's own scripts (Chromium DevTools
    /// `Page.addScriptToEvaluateOnNewDocument`), e.g. to take a browser feature away.
    pub async fn before_each_page(&self, script: &str) -> Result<(), BrowserError> {
        self.command(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": { "source": script },
            })),
        )
        .await
        .map(drop)
    }

    /// Runs a Chromium DevTools command on the page (`/goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value, BrowserError> {
        self.command(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Cuts the page's network, or gives it back (DevTools
    /// `Network.emulateNetworkConditions` with `offline`): every request then fails as
    /// with no connection, and `navigator.onLine` is false.
    pub async fn set_offline(&self, offline: bool) -> Result<(), BrowserError> {
        self.cdp("Network.enable", json!({})).await?;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": -1,
            }),
        )
        .await
        .map(drop)
    }

    /// The current URL.
    pub async fn url(&self) -> Result<String, BrowserError> {
        let v = self.command(reqwest::Method::GET, "/url", None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the element matching `css` exists and its text contains `needle`;
    /// returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> Result<String, BrowserError> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let last = match self.text(css).await {
                Ok(text) if text.contains(needle) => return Ok(text),
                Ok(text) => format!("its text is {text:?}"),
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() > deadline {
                let page = self.source().await;
                return Err(BrowserError::Timeout {
                    what: format!("{needle:?} in {css} ({last})"),
                    page,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a function body) returns `true`.
    pub async fn wait_until(&self, script: &str, what: &str) -> Result<(), BrowserError> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if self.execute(script, vec![]).await.ok() == Some(Value::Bool(true)) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                let page = self.source().await;
                return Err(BrowserError::Timeout {
                    what: what.to_owned(),
                    page,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every `axe-core` violation of WCAG 2.x A/AA rules on the current page.
    pub async fn accessibility(&self) -> Result<Vec<AxeViolation>, BrowserError> {
        let source = axe_source()?;
        // The page's Content-Security-Policy does not apply to WebDriver scripts; axe's
        // UMD wrapper puts `axe` on `window`.
        let script = format!(
            "{source}\n;const done = arguments[arguments.length - 1];
            window.axe.run(document, {{
                runOnly: {{ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }},
                resultTypes: ['violations'],
            }}).then(r => done(JSON.stringify(r.violations.map(v => ({{
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
            }})))), e => done(JSON.stringify({{ error: String(e) }})));"
        );
        self.command(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({ "script": WAIT.as_millis() as u64 * 3 })),
        )
        .await?;
        let v = self
            .command(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({ "script": script, "args": [] })),
            )
            .await?;
        let text = v.as_str().unwrap_or_default();
        let parsed: Value = serde_json::from_str(text).map_err(|e| BrowserError::Command {
            command: "axe.run".into(),
            message: format!("{e}: {text}"),
        })?;
        if let Some(error) = parsed.get("error") {
            return Err(BrowserError::Command {
                command: "axe.run".into(),
                message: error.to_string(),
            });
        }
        serde_json::from_value(parsed).map_err(|e| BrowserError::Command {
            command: "axe.run".into(),
            message: e.to_string(),
        })
    }

    /// Saves a screenshot of the viewport as the next numbered step and checks the page
    /// with `axe-core` ([`Browser::accessibility`]); returns the picture's path, or
    /// [`BrowserError::Inaccessible`] when the page has a serious or critical violation.
    pub async fn screenshot(&mut self, step: &str) -> Result<PathBuf, BrowserError> {
        let path = self.picture(step).await?;
        let violations: Vec<AxeViolation> = self
            .accessibility()
            .await?
            .into_iter()
            .filter(AxeViolation::blocks)
            .collect();
        if violations.is_empty() {
            Ok(path)
        } else {
            Err(BrowserError::Inaccessible {
                url: self.url().await.unwrap_or_default(),
                shot: path,
                violations,
            })
        }
    }

    /// Shows the page as a `width` CSS pixels wide screen (Chromium DevTools
    /// `Emulation.setDeviceMetricsOverride`; below 500 px, a touch phone), without
    /// restarting the browser.
    pub async fn set_screen(&self, width: u32) -> Result<(), BrowserError> {
        let phone = width < 500;
        self.command(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {
                    "width": width,
                    "height": if phone { 844 } else { 900 },
                    "screenWidth": width,
                    "screenHeight": if phone { 844 } else { 900 },
                    "deviceScaleFactor": 1,
                    "mobile": phone,
                },
            })),
        )
        .await
        .map(drop)
    }

    /// Fails when the page is wider than the screen it is shown on, naming the widest
    /// element (the cause to look at). A page without `<meta name="viewport">` is laid out
    /// 980 px wide on a phone, so it fails at 390 px too.
    pub async fn assert_no_sideways_scroll(&self) -> Result<(), BrowserError> {
        let v = self
            .execute(
                "const w = Math.min(window.innerWidth, screen.width),
                       s = document.documentElement.scrollWidth;
                 let widest = '', most = 0;
                 for (const e of document.body.querySelectorAll('*')) {
                   const r = e.getBoundingClientRect();
                   // Text that overflows its box widens the page without widening the box.
                   const right = Math.max(r.right, r.left + e.scrollWidth);
                   if (right >= most && right > w) { most = right;
                     widest = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                       + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                       + ' (right edge ' + Math.round(right) + ' px)'; }
                 }
                 return [w, s, widest];",
                vec![],
            )
            .await?;
        let width = v[0].as_u64().unwrap_or_default();
        let scroll_width = v[1].as_u64().unwrap_or_default();
        if scroll_width > width {
            return Err(BrowserError::ScrollsSideways {
                url: self.url().await.unwrap_or_default(),
                width: width as u32,
                scroll_width,
                widest: v[2].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(())
    }

    /// The current page on each of [`SCREENS`]: no sideways scrolling, a screenshot
    /// (`<step>-<width>`) with its accessibility check; the desktop screen is left on.
    pub async fn screenshots(&mut self, step: &str) -> Result<Vec<PathBuf>, BrowserError> {
        let mut shots = Vec::new();
        for (width, name) in SCREENS.iter().rev() {
            self.set_screen(*width).await?;
            self.assert_no_sideways_scroll().await?;
            shots.push(self.screenshot(&format!("{step}-{name}")).await?);
        }
        Ok(shots)
    }

    /// Saves a screenshot of the viewport as the next numbered step, with no other check.
    pub async fn picture(&mut self, step: &str) -> Result<PathBuf, BrowserError> {
        let v = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| BrowserError::Command {
                command: "screenshot".into(),
                message: e.to_string(),
            })?;
        self.step += 1;
        let path = self.artifacts.join(format!("{:02}-{step}.png", self.step));
        std::fs::write(&path, png).map_err(|source| BrowserError::Artifact {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Ends the session and stops the driver.
    pub async fn quit(mut self) {
        let _ = self.command(reqwest::Method::DELETE, "", None).await;
        self.closed = true;
        let _ = self.driver.kill().await;
    }
}

impl Drop for Browser {
    /// A test that failed before [`Browser::quit`] must not leave Chromium running: the
    /// driver is killed on drop, but the browser it started would outlive it. So end the
    /// session here, with a plain blocking HTTP request (no runtime is needed in `drop`).
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let Some(rest) = self.session.strip_prefix("http://") else {
            return;
        };
        let Some((host, path)) = rest.split_once('/') else {
            return;
        };
        let Ok(mut stream) = std::net::TcpStream::connect(host) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(WAIT));
        let request = format!(
            "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        use std::io::{Read, Write};
        if stream.write_all(request.as_bytes()).is_err() {
            return;
        }
        // The answer comes once the browser has quit; the driver may keep the connection
        // open after it, so read up to the end of its body, not to the end of the stream.
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
        }
    }
}

/// The text of every QR code `zbarimg` finds in the image at `path`.
pub async fn decode_qr(path: &Path) -> Result<Vec<String>, BrowserError> {
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(path)
        .output()
        .await
        .map_err(|e| {
            BrowserError::Zbar(format!(
                "cannot run zbarimg (apt-get install zbar-tools): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(BrowserError::Zbar(format!(
            "no QR code found in {} ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
