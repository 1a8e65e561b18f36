//! The services' Prometheus metrics (issue 18, item 3): each service's `/metrics`, on its
//! own listen address, scraped after an issuance and a presentation driven over HTTP, read
//! by an independent parser (the Prometheus Python client's, `interop/prometheus_parse.py`)
//! and checked against what the journey did. The refusals: no `/metrics` on the public
//! listeners, none at all unless a metrics address is configured, no id, code or token in
//! any label, strangers' paths and methods folded into bounded labels.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack, credential_request, holder_key};
use crate::interop::harness;
use crate::presentation::present;

/// A stack whose three services serve their metrics on loopback port 0.
async fn observed_stack() -> TestStack {
    TestStack::start_with(|c| {
        c.issuer.service.metrics_listen = Some("127.0.0.1:0".into());
        c.wallet.service.metrics_listen = Some("127.0.0.1:0".into());
        c.verifier.service.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await
}

/// One sample as the parser read it.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// What the parser read of one scrape: the families' types and the samples.
#[derive(Debug)]
struct Parsed {
    families: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Parsed {
    /// The value of the one sample `name` with exactly these labels (others may be there
    /// too); panics when there is none or more than one.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
                    && s.labels.len() == labels.len()
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].value
    }

    /// The sum of every sample `name` whose labels include these.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Every value label `label` takes in samples `name`.
    fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

/// Scrapes `url`: the text, after checking the status and the content type.
async fn scrape(t: &TestStack, url: &str) -> String {
    let r = t.http.get(url).send().await.expect("scrape");
    assert_eq!(r.status().as_u16(), 200, "{url}");
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r.text().await.expect("metrics text")
}

/// The three services' scrapes, parsed by the Prometheus client's parser.
async fn parse_all(texts: &BTreeMap<&str, String>) -> BTreeMap<String, Parsed> {
    let input = json!({ "scrapes": texts });
    let out = tokio::task::spawn_blocking(move || {
        harness::run_python("prometheus_parse.py", "prometheus_client", &input)
    })
    .await
    .expect("parser thread");
    assert!(out.get("error").is_none(), "the parser refused: {out}");
    let mut parsed = BTreeMap::new();
    for (name, body) in out.as_object().expect("object") {
        let families = body["families"]
            .as_object()
            .expect("families")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("type").to_owned()))
            .collect();
        let samples = body["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .map(|s| Sample {
                name: s["name"].as_str().expect("name").to_owned(),
                labels: s["labels"]
                    .as_object()
                    .expect("labels")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_owned()))
                    .collect(),
                value: match &s["value"] {
                    Value::Number(n) => n.as_f64().expect("f64"),
                    Value::String(s) if s == "+Inf" => f64::INFINITY,
                    other => panic!("value {other}"),
                },
            })
            .collect();
        parsed.insert(name.clone(), Parsed { families, samples });
    }
    parsed
}

#[tokio::test]
#[ignore = "heavy: run by ./test (PyPI interop packages)"]
async fn each_service_counts_what_the_journey_did_and_prometheus_reads_it() {
    let t = observed_stack().await;
    let stack = &t.stack;
    let urls = [
        (
            "issuer",
            stack.issuer.metrics_url.clone().expect("issuer metrics"),
        ),
        (
            "wallet",
            stack.wallet.metrics_url.clone().expect("wallet metrics"),
        ),
        (
            "verifier",
            stack
                .verifier
                .metrics_url
                .clone()
                .expect("verifier metrics"),
        ),
    ];

    // An issuance over HTTP, as a wallet would: the admin API's offer, the offer document,
    // the token, a nonce, one dc+sd-jwt credential.
    let holder = holder_key();
    let offer = t.offer(false, Some(365)).await;
    let offer_id = offer["offer_id"].as_str().expect("offer_id").to_owned();
    let code = t.pre_authorized_code(&offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    let access_token = token["access_token"].as_str().expect("token").to_owned();
    let nonce = t.nonce().await;
    let proof =
        protocol::oid4vci::build_proof_jwt(&holder, t.issuer(), Some(&nonce), stack.clock.now());
    let (s, issued) = t
        .credential(&access_token, credential_request(vec![proof]))
        .await;
    assert_eq!(s, 200, "{issued}");
    let credential = issued["credentials"][0]["credential"]
        .as_str()
        .expect("credential")
        .to_owned();

    // The admin API reads the offer by its id (the id must not become a label), and one
    // badge is revoked.
    let r = t
        .http
        .get(format!("{}/admin/offers/{offer_id}", t.issuer()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin offer");
    assert_eq!(r.status().as_u16(), 200);
    let view: Value = r.json().await.expect("offer JSON");
    let credential_id = view["credentials"][0]["id"]
        .as_str()
        .expect("credential id")
        .to_owned();

    // A presentation over HTTP: accepted; the same answer again: refused as a replay.
    let request = t.verifier_request().await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().expect("uri"))
        .await;
    let query_id = object["dcql_query"]["credentials"][0]["id"]
        .as_str()
        .expect("query id")
        .to_owned();
    let vp = present(
        &credential,
        &holder,
        object["client_id"].as_str().expect("client_id"),
        object["nonce"].as_str().expect("nonce"),
        stack.clock.now(),
    );
    let (s, answer) = t
        .post_vp_token(&object, json!({ query_id.clone(): [vp.clone()] }))
        .await;
    assert_eq!(s, 200, "{answer}");
    let (s, answer) = t.post_vp_token(&object, json!({ query_id: [vp] })).await;
    assert_eq!(s, 400, "the replay: {answer}");
    let result = t.result(request["id"].as_str().expect("id")).await;
    assert_eq!(result["state"], "verified", "{result}");
    // A second request the wallet declines, a third answered with a presentation bound to
    // another nonce (rejected).
    let declined = t.verifier_request().await;
    let declined = t
        .request_object(declined["openid4vp_uri"].as_str().expect("uri"))
        .await;
    let (s, answer) = t
        .post_form(
            declined["response_uri"].as_str().expect("response_uri"),
            &[
                ("error", "access_denied"),
                ("state", declined["state"].as_str().expect("state")),
            ],
        )
        .await;
    assert!(s == 200 || s == 400, "{s} {answer}");
    let forged = t.verifier_request().await;
    let forged = t
        .request_object(forged["openid4vp_uri"].as_str().expect("uri"))
        .await;
    let query_id = forged["dcql_query"]["credentials"][0]["id"]
        .as_str()
        .expect("query id")
        .to_owned();
    let vp = present(
        &credential,
        &holder,
        forged["client_id"].as_str().expect("client_id"),
        "a-nonce-of-another-request",
        stack.clock.now(),
    );
    let (s, answer) = t.post_vp_token(&forged, json!({ query_id: [vp] })).await;
    assert_eq!(s, 400, "{answer}");

    // After the presentation, the badge is revoked.
    let (s, body) = t
        .admin_post(
            &format!("/admin/credentials/{credential_id}/status"),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    // Strangers: a path with a secret-looking segment on each service, an odd method.
    let secret = "s3cr3t-c0de-in-a-path";
    for base in [t.issuer(), &stack.wallet.url, t.verifier()] {
        let r = t
            .http
            .get(format!("{base}/no/such/{secret}?token={secret}"))
            .send()
            .await
            .expect("unknown path");
        assert_eq!(r.status().as_u16(), 404, "{base}");
        let r = t
            .http
            .request(
                reqwest::Method::from_bytes(b"BREW").expect("method"),
                format!("{base}/{secret}"),
            )
            .send()
            .await
            .expect("odd method");
        assert!(r.status().is_client_error(), "{base}: {}", r.status());
    }
    // The wallet's API, with a wrong token.
    let r = t
        .http
        .get(format!("{}/api/credentials", stack.wallet.url))
        .bearer_auth(secret)
        .send()
        .await
        .expect("wallet API");
    assert_eq!(r.status().as_u16(), 401);

    // The issuer's emails (the offer's) are delivered by its outbox worker in the
    // background: wait until none is left, then scrape everything once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let counts = kit::mail::outbox::Outbox::counts(
            &issuer_agent::store::OUTBOX,
            &stack.issuer.app.store.db,
        )
        .await
        .expect("outbox counts");
        if counts.pending == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox did not drain: {counts:?}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sent =
        kit::mail::outbox::Outbox::counts(&issuer_agent::store::OUTBOX, &stack.issuer.app.store.db)
            .await
            .expect("outbox counts")
            .sent;

    let mut texts = BTreeMap::new();
    for (name, url) in &urls {
        texts.insert(*name, scrape(&t, url).await);
    }
    for (name, text) in &texts {
        for leak in [
            secret,
            offer_id.as_str(),
            credential_id.as_str(),
            code.as_str(),
            access_token.as_str(),
            request["id"].as_str().expect("id"),
            "BREW",
        ] {
            assert!(
                !text.contains(leak),
                "{name}'s metrics hold {leak:?}:\n{text}"
            );
        }
    }
    let parsed = parse_all(&texts).await;
    let (issuer, wallet, verifier) = (&parsed["issuer"], &parsed["wallet"], &parsed["verifier"]);

    // Every service: the process, the service, the routes, the pools.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    for (name, p) in &parsed {
        let started = p.value("process_start_time_seconds", &[]);
        assert!(started > 1.7e9 && started <= now + 1.0, "{name}: {started}");
        assert_eq!(p.families["akashi_http_requests"], "counter", "{name}");
        assert_eq!(
            p.families["akashi_http_request_duration_seconds"], "histogram",
            "{name}"
        );
        assert_eq!(p.families["akashi_db_pool_connections"], "gauge", "{name}");
        assert_eq!(
            p.families["akashi_db_pool_acquire_seconds"], "histogram",
            "{name}"
        );
        let pools = p.label_values("akashi_db_pool_max_connections", "pool");
        assert!(
            pools == ["read", "write"] || pools == ["main"],
            "{name}: {pools:?}"
        );
        // The unknown path and the odd method: one bounded row each.
        assert_eq!(
            p.value(
                "akashi_http_requests_total",
                &[("route", "unmatched"), ("method", "GET"), ("status", "4xx")]
            ),
            1.0,
            "{name}"
        );
        assert_eq!(
            p.sum("akashi_http_requests_total", &[("method", "other")]),
            1.0,
            "{name}"
        );
        // Every route label is a template of the router's or `unmatched`.
        for route in p.label_values("akashi_http_requests_total", "route") {
            assert!(
                route == "unmatched" || route.starts_with('/'),
                "{name}: {route}"
            );
        }
        // A histogram's count is its requests' count.
        for route in p.label_values("akashi_http_request_duration_seconds_count", "route") {
            for method in p.label_values("akashi_http_requests_total", "method") {
                let labels = [("route", route.as_str()), ("method", method.as_str())];
                let requests = p.sum("akashi_http_requests_total", &labels);
                let timed = p.sum("akashi_http_request_duration_seconds_count", &labels);
                assert_eq!(requests, timed, "{name} {labels:?}");
                if timed > 0.0 {
                    let mut inf = labels.to_vec();
                    inf.push(("le", "+Inf"));
                    assert_eq!(
                        p.value("akashi_http_request_duration_seconds_bucket", &inf),
                        timed,
                        "{name} {labels:?}"
                    );
                }
            }
        }
    }

    // The issuer: exactly the requests of the flow, one credential, one revocation.
    let ok = |route: &str, method: &str| {
        issuer.value(
            "akashi_http_requests_total",
            &[("route", route), ("method", method), ("status", "2xx")],
        )
    };
    assert_eq!(ok("/token", "POST"), 1.0);
    assert_eq!(ok("/nonce", "POST"), 1.0);
    assert_eq!(ok("/credential", "POST"), 1.0);
    assert_eq!(ok("/offers/{id}", "GET"), 1.0);
    assert_eq!(ok("/admin/offers", "POST"), 1.0);
    assert_eq!(ok("/admin/offers/{id}", "GET"), 1.0);
    assert_eq!(ok("/admin/credentials/{id}/status", "POST"), 1.0);
    assert_eq!(
        issuer.value(
            "akashi_issuer_credentials_issued_total",
            &[("format", "dc+sd-jwt")]
        ),
        1.0
    );
    assert_eq!(
        issuer.sum("akashi_issuer_credentials_issued_total", &[]),
        1.0,
        "one credential in all"
    );
    assert_eq!(
        issuer.value(
            "akashi_issuer_status_changes_total",
            &[("status", "revoked")]
        ),
        1.0
    );
    assert_eq!(issuer.sum("akashi_issuer_status_changes_total", &[]), 1.0);
    assert_eq!(
        issuer.value(
            "akashi_outbox_deliveries_total",
            &[("outbox", "issuer"), ("outcome", "delivered")]
        ),
        sent as f64,
        "every email the outbox marked sent"
    );
    assert_eq!(
        issuer.sum("akashi_outbox_depth", &[("outbox", "issuer")]),
        0.0
    );

    // The verifier: one presentation of each verdict, nothing else.
    let verdict =
        |v: &str| verifier.value("akashi_verifier_presentations_total", &[("verdict", v)]);
    assert_eq!(verdict("accepted"), 1.0);
    assert_eq!(verdict("refused"), 1.0, "the replay");
    assert_eq!(verdict("rejected"), 1.0, "the other nonce");
    assert_eq!(verdict("wallet_error"), 1.0, "the declined request");
    assert_eq!(
        verifier.sum("akashi_verifier_presentations_total", &[]),
        4.0
    );
    let response = |status: &str| {
        verifier.sum(
            "akashi_http_requests_total",
            &[
                ("route", "/response"),
                ("method", "POST"),
                ("status", status),
            ],
        )
    };
    assert_eq!(response("2xx") + response("4xx"), 4.0);
    assert!(response("2xx") >= 1.0 && response("4xx") >= 2.0);
    assert_eq!(
        verifier.value(
            "akashi_http_requests_total",
            &[
                ("route", "/request/{id}"),
                ("method", "GET"),
                ("status", "2xx")
            ]
        ),
        3.0
    );

    // The wallet: its API refused the wrong token; its outbox sent nothing.
    assert_eq!(
        wallet.value(
            "akashi_http_requests_total",
            &[
                ("route", "/api/credentials"),
                ("method", "GET"),
                ("status", "4xx")
            ]
        ),
        1.0
    );
    assert_eq!(
        wallet.sum("akashi_outbox_deliveries_total", &[("outbox", "wallet")]),
        0.0
    );
    assert_eq!(
        wallet.value(
            "akashi_outbox_depth",
            &[("outbox", "wallet"), ("state", "waiting")]
        ),
        0.0
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn metrics_are_never_on_the_public_listeners() {
    // Not configured (the default): no metrics listener, and the public listeners have no
    // `/metrics`, nor count anything.
    let t = TestStack::start().await;
    let stack = &t.stack;
    assert!(stack.issuer.metrics_url.is_none());
    assert!(stack.wallet.metrics_url.is_none());
    assert!(stack.verifier.metrics_url.is_none());
    for base in [t.issuer(), &stack.wallet.url, t.verifier()] {
        let r = t
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(r.status().as_u16(), 404, "{base}");
        let body = r.text().await.unwrap_or_default();
        assert!(
            !body.contains("akashi_http_requests_total"),
            "{base}: {body}"
        );
    }
    assert_eq!(
        stack.issuer.app.metrics.http.count("unmatched", "GET", 4),
        0,
        "without a metrics listener nothing is counted"
    );
    t.stack.stop().await;

    // Configured: still not on the public listeners; the metrics listener answers GET
    // /metrics and nothing else.
    let t = observed_stack().await;
    let stack = &t.stack;
    for (base, metrics) in [
        (t.issuer(), &stack.issuer.metrics_url),
        (&stack.wallet.url, &stack.wallet.metrics_url),
        (t.verifier(), &stack.verifier.metrics_url),
    ] {
        let metrics = metrics.as_deref().expect("metrics URL");
        let r = t
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(r.status().as_u16(), 404, "{base}");
        let body = r.text().await.unwrap_or_default();
        assert!(
            !body.contains("akashi_http_requests_total"),
            "{base}: {body}"
        );
        assert!(
            !metrics.starts_with(base),
            "a listener of its own: {metrics}"
        );

        let text = scrape(&t, metrics).await;
        assert!(
            text.contains(
                "akashi_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"4xx\"} 1\n"
            ),
            "the public /metrics was counted as an unknown path: {text}"
        );
        let r = t.http.post(metrics).send().await.expect("POST /metrics");
        assert_eq!(r.status().as_u16(), 405, "{metrics}");
        let other = metrics.trim_end_matches("/metrics");
        for path in ["/", "/admin/offers", "/api/credentials", "/metrics/x"] {
            let r = t
                .http
                .get(format!("{other}{path}"))
                .send()
                .await
                .expect("GET");
            assert_eq!(r.status().as_u16(), 404, "{other}{path}");
        }
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn many_unknown_paths_and_ids_stay_one_label_each() {
    let t = observed_stack().await;
    let verifier = t.verifier().to_owned();
    for i in 0..200 {
        let r = t
            .http
            .get(format!("{verifier}/unknown-{i}/{}", "x".repeat(i)))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status().as_u16(), 404);
        let r = t
            .http
            .get(format!("{verifier}/api/requests/id-{i}/result"))
            .bearer_auth("wrong")
            .send()
            .await
            .expect("GET");
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let text = scrape(
        &t,
        t.stack
            .verifier
            .metrics_url
            .as_deref()
            .expect("metrics URL"),
    )
    .await;
    assert!(
        text.contains(
            "akashi_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"4xx\"} 200\n"
        ),
        "{text}"
    );
    let result_rows = text
        .lines()
        .filter(|l| l.starts_with("akashi_http_requests_total{route=\"/api/requests/{id}/result\""))
        .count();
    assert!(result_rows >= 1, "{text}");
    assert!(
        !text.contains("unknown-1") && !text.contains("id-1"),
        "{text}"
    );
    let series = text
        .lines()
        .filter(|l| l.starts_with("akashi_http_requests_total{"))
        .count();
    assert!(series <= 4, "bounded: {series} series\n{text}");
    t.stack.stop().await;
}
