//! Journey 8 from the verifier's desk: a person signs in to the verifier's web page,
//! creates a presentation request, and shows its QR code; the holder's wallet reads that
//! QR code (decoded from a screenshot of the page in real headless Chromium) and
//! presents; the page shows the verified result without being reloaded.

use akashi_tests::browser::{Browser, decode_qr};
use serde_json::Value;

use crate::common::{TestStack, VERIFIER_TOKEN, check};

/// Signs the browser in to the desk and creates a template request for our issuer;
/// returns the request id (from the page's URL).
async fn create_on_the_desk(b: &mut Browser, t: &TestStack) -> String {
    b.goto(&format!("{}/desk", t.verifier())).await.unwrap();
    b.wait_for_text("h1", "Sign in").await.unwrap();
    b.screenshot("sign-in").await.unwrap();
    b.fill("#token", VERIFIER_TOKEN).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("h1", "New presentation request")
        .await
        .unwrap();
    b.fill("#issuer", t.issuer()).await.unwrap();
    assert_eq!(
        b.execute(
            "return document.getElementById('disclose_name').checked;",
            vec![]
        )
        .await
        .unwrap(),
        Value::Bool(true),
        "the form asks for the name by default"
    );
    b.screenshot("new-request").await.unwrap();
    b.click("#create").await.unwrap();
    b.wait_for_text("#state", "Waiting for the wallet")
        .await
        .unwrap();
    let url = b.url().await.unwrap();
    url.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn qr_page_shows_the_wallets_result_without_a_reload() {
    qr_page_journey("qr_page_shows_the_wallets_result_without_a_reload", true).await;
}

/// Where the browser has no `EventSource`, the page polls and still updates in place.
#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn qr_page_polls_without_server_sent_events() {
    qr_page_journey("qr_page_polls_without_server_sent_events", false).await;
}

async fn qr_page_journey(test: &str, event_source: bool) {
    let t = TestStack::start().await;
    let now = t.stack.clock.now();
    let wallet = &t.stack.wallet.app;
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet accepts the offer");

    let mut b = Browser::start(test).await.expect("headless Chromium");
    if !event_source {
        b.before_each_page("delete window.EventSource;")
            .await
            .unwrap();
    }
    let id = create_on_the_desk(&mut b, &t).await;
    b.wait_until(
        "var q = document.getElementById('qr'); return q.complete && q.naturalWidth > 0;",
        "the QR image to load",
    )
    .await
    .unwrap();
    let shot = b.screenshot("qr").await.unwrap();

    // What a camera reads is the https link of the page offering the request to a web
    // wallet and to wallet apps; its app link is the request's link, which the desk's page
    // also offers for the same device.
    let decoded = decode_qr(&shot).await.expect("a QR code on the page");
    assert_eq!(decoded.len(), 1, "{decoded:?}");
    assert_eq!(decoded[0], format!("{}/r/{id}", t.verifier()));
    let answer = t
        .http
        .get(&decoded[0])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = &answer
        .split("id=\"wallet-app\" class=\"button\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the wallet app link")
        .replace("&amp;", "&");
    assert!(link.starts_with("openid4vp://?client_id="), "{link}");
    assert_eq!(
        b.attribute("#same-device", "href")
            .await
            .unwrap()
            .as_deref(),
        Some(link.as_str())
    );
    assert_eq!(
        t.stack.verifier.app.links(&id).await.unwrap().openid4vp_uri,
        *link
    );

    // A mark on this page: still there after the result arrives means no reload.
    b.execute("window.akashiMark = 'same page'; return true;", vec![])
        .await
        .unwrap();
    let presented = wallet
        .present(&account, link, None, t.stack.clock.now())
        .await
        .expect("the wallet presents");
    assert_eq!(presented.status, 200, "{:?}", presented.body);

    let state = b.wait_for_text("#state", "Verified").await.unwrap();
    assert_eq!(state, "Verified");
    b.screenshot("verified").await.unwrap();
    assert_eq!(
        b.execute("return window.akashiMark || null;", vec![])
            .await
            .unwrap(),
        Value::String("same page".into()),
        "the page was reloaded"
    );
    assert_eq!(
        b.attribute("#result", "data-updated-by")
            .await
            .unwrap()
            .as_deref(),
        Some(if event_source { "sse" } else { "poll" }),
        "what updated the page"
    );
    let verdict = b.text("#verdict").await.unwrap();
    assert!(
        verdict.starts_with("Verified: 田中 アナ holds “Digital Supporter — Level 1” from ")
            && verdict.ends_with("; not revoked."),
        "one sentence first: {verdict}"
    );
    let badge = b.text("#badge").await.unwrap();
    for shown in ["Digital Supporter — Level 1", "田中 アナ"] {
        assert!(badge.contains(shown), "{shown}: {badge}");
    }
    // The claim table and the checks are folded away until asked for.
    assert_eq!(b.text("#disclosed").await.unwrap(), "", "folded away");
    b.click("#technical summary").await.unwrap();
    let disclosed = b.text("#disclosed").await.unwrap();
    assert!(disclosed.contains("田中 アナ"), "{disclosed}");
    assert!(!disclosed.contains("ana@example.org"), "{disclosed}");
    let checks = b.text("#checks").await.unwrap();
    for name in [
        "issuer_signature",
        "holder_binding",
        "nonce",
        "status",
        "dcql",
    ] {
        let outcome = b
            .attribute(&format!("tr[data-check=\"{name}\"]"), "data-outcome")
            .await
            .unwrap();
        assert_eq!(outcome.as_deref(), Some("passed"), "{name}: {checks}");
    }
    // The page and the result API tell the same story.
    let result = t.result(&id).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "holder_binding"), Some(true));

    b.quit().await;
    t.stack.stop().await;
}

/// The desk without a browser: pages need a session, forms need their CSRF token, and
/// the result reaches the page's event stream.
#[tokio::test]
async fn desk_pages_need_a_session_and_forms_a_csrf_token() {
    let t = TestStack::start().await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let desk = format!("{}/desk", t.verifier());

    // Sign-in page: it sets the CSRF cookie and puts the matching token in the form.
    let r = http.get(&desk).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csrf_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("verifier_csrf="))
        .expect("a CSRF cookie")
        .to_owned();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"));
    let csrf_cookie = csrf_cookie.split(';').next().unwrap().to_owned();
    let html = r.text().await.unwrap();
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field")
        .to_owned();

    let login = |cookie: Option<String>, csrf: String, api: &'static str| {
        let mut req = http
            .post(format!("{desk}/login"))
            .form(&[("csrf", csrf.as_str()), ("token", api)]);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    // No cookie, or a token for another cookie: refused as CSRF, nothing else said.
    let r = login(None, token.clone(), VERIFIER_TOKEN).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("CSRF"));
    let r = login(
        Some("verifier_csrf=someone-else".into()),
        token.clone(),
        VERIFIER_TOKEN,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // A wrong API token.
    let r = login(Some(csrf_cookie.clone()), token.clone(), "wrong")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("wrong API token"));
    // The right one opens a session.
    let r = login(Some(csrf_cookie.clone()), token.clone(), VERIFIER_TOKEN)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("verifier_desk="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let cookies = format!("{csrf_cookie}; {session}");

    // Without a session, a request page sends the browser to sign in.
    let request = t.verifier_request().await;
    let id = request["id"].as_str().unwrap();
    let page = format!("{desk}/requests/{id}");
    let r = http.get(&page).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/desk");
    let r = http.get(format!("{page}/events")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);

    // Creating a request: a bad issuer is shown back, escaped, with the field at fault;
    // without the CSRF token nothing is created.
    let r = http
        .post(format!("{desk}/requests"))
        .header("cookie", &cookies)
        .form(&[("issuer", "<script>x</script>")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = http
        .post(format!("{desk}/requests"))
        .header("cookie", &cookies)
        .form(&[("csrf", token.as_str()), ("issuer", "<script>x</script>")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("template.issuer"), "{html}");
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script>x"), "{html}");

    // The page of an API-made request, with a session: pending, and its event stream
    // delivers the result when the wallet's error answer arrives.
    let r = http
        .get(&page)
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains("data-state=\"pending\""), "{html}");
    let mut events = http
        .get(format!("{page}/events"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let (status, _) = t
        .post_form(
            object["response_uri"].as_str().unwrap(),
            &[
                ("error", "access_denied"),
                ("error_description", "the holder said <no>"),
                ("state", object["state"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let stream = read_result_event(&mut events).await;
    assert!(stream.contains("event: result"), "{stream}");
    assert!(stream.contains("data-state=\"rejected\""), "{stream}");
    assert!(stream.contains("the holder said &lt;no&gt;"), "{stream}");
    // The polling fallback's fragment says the same.
    let r = http
        .get(format!("{page}/result"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let fragment = r.text().await.unwrap();
    assert!(fragment.contains("data-state=\"rejected\""), "{fragment}");

    // A DCQL query instead of the template: bad JSON is named; request options are kept.
    let r = http
        .post(format!("{desk}/requests"))
        .header("cookie", &cookies)
        .form(&[("csrf", token.as_str()), ("dcql_query", "{not json")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("dcql_query:"), "{html}");
    assert!(html.contains("{not json</textarea>"), "{html}");
    let r = http
        .post(format!("{desk}/requests"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("issuer", t.issuer()),
            ("client_id_prefix", "redirect_uri"),
            ("request_uri_method", "post"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap();
    let link = t.stack.verifier.app.links(id).await.unwrap().openid4vp_uri;
    assert!(link.contains("client_id=redirect_uri%3A"), "{link}");
    assert!(link.contains("request_uri_method=post"), "{link}");

    t.stack.stop().await;
}

/// Several verifier instances share one database: a page's event stream, served by one
/// instance, learns of a result another instance stored (by re-reading the store, since
/// that instance's wake-up never reaches this one).
#[tokio::test]
async fn the_page_hears_of_a_result_stored_by_another_instance() {
    let mut config = None;
    let t = TestStack::start_with(|c| config = Some(c.verifier.clone())).await;
    let mut config = config.unwrap();
    config.service.public_url = t.verifier().to_owned();
    let (other, _) = verifier::App::open(config, t.stack.clock.clone())
        .await
        .expect("a second instance on the same database");

    let request = t.verifier_request().await;
    let id = request["id"].as_str().unwrap();
    let session = t
        .stack
        .verifier
        .app
        .open_desk_session("csrf-cookie")
        .await
        .unwrap();
    let mut events = t
        .http
        .get(format!("{}/desk/requests/{id}/events", t.verifier()))
        .header("cookie", format!("verifier_desk={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);

    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    other
        .receive_response(vec![
            ("error".into(), "access_denied".into()),
            ("state".into(), object["state"].as_str().unwrap().into()),
        ])
        .await
        .expect("the other instance takes the answer");

    let stream = read_result_event(&mut events).await;
    assert!(stream.contains("event: result"), "{stream}");
    assert!(stream.contains("data-state=\"rejected\""), "{stream}");
    assert!(stream.contains("access_denied"), "{stream}");
    other.store.db.close().await;
    t.stack.stop().await;
}

/// Reads a desk event stream until its `result` event is complete (or the stream ends).
/// The guard only turns a hang into a failure; the event comes within the recheck period.
async fn read_result_event(events: &mut reqwest::Response) -> String {
    let read = async {
        let mut stream = String::new();
        while let Some(chunk) = events.chunk().await.unwrap() {
            stream.push_str(&String::from_utf8_lossy(&chunk));
            if stream.contains("event: result") && stream.contains("</table>") {
                break;
            }
        }
        stream
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), read)
        .await
        .expect("no result event on the page's stream")
}
