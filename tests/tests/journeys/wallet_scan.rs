//! QR pictures uploaded to the wallet's `/present/scan` are decoded under bounds (issue 13,
//! item 5), tried as an attacker would: a 7000×7000 PNG (a few hundred kilobytes) is
//! refused from its header with the limit named, in English and Japanese, before a pixel
//! is decoded; while every decode slot is taken a further upload is told to try again
//! (429 with `Retry-After`) rather than queued; a verifier's real QR code still opens the
//! consent page.

use holder_agent::wallet::decode_slots::{MAX_CONCURRENT_DECODES, RETRY_AFTER_SECS};

use crate::common::{TestStack, VERIFIER_TOKEN};
use crate::wallet_accounts::{PASSWORD, WebClient};
use crate::wallet_present::{give_badge, web_account};

/// A white greyscale PNG of `width`×`height`.
fn blank_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().unwrap();
        let mut stream = w.stream_writer().unwrap();
        let row = vec![255u8; width as usize];
        for _ in 0..height {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    out
}

/// Posts `picture` to `/present/scan` with the browser's cookies and CSRF token, as the
/// present page's form does; returns the status, the `Retry-After` and `Location` headers
/// and the body.
async fn scan(c: &WebClient, wallet: &str, picture: &[u8]) -> (u16, Option<String>, String) {
    let boundary = "akashi-scan-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n",
            c.csrf()
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"qr.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(picture);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let cookie = c
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let r = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{wallet}/present/scan"))
        .header("cookie", cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let after = header("retry-after").or(header("location"));
    (status, after, r.text().await.unwrap())
}

#[tokio::test]
async fn wallet_scan_refuses_huge_pictures_and_bounds_concurrent_decodes() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    let ana = web_account(&t, "ana@example.org").await;
    give_badge(&t, &ana).await;
    let mut c = WebClient::new(&wallet);
    c.get("/sign-in").await;
    let a = c
        .post(
            "/sign-in",
            &[("email", "ana@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    c.get("/present").await;

    // 1. The 7000×7000 PNG: refused by its header, the limit named.
    let huge = blank_png(7000, 7000);
    assert!(huge.len() < 1024 * 1024, "{} bytes", huge.len());
    let (status, _, body) = scan(&c, &wallet, &huge).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("The picture is 7000×7000 pixels; at most 16 megapixels are accepted."),
        "{body}"
    );
    // In Japanese, as the page is.
    let mut ja = WebClient::new(&wallet);
    ja.cookies = c.cookies.clone();
    ja.cookies.insert("wallet_lang".into(), "ja".into());
    ja.get("/present").await;
    let (status, _, body) = scan(&ja, &wallet, &huge).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("画像は 7000×7000 ピクセルです。受け付けるのは 1600 万画素までです。"),
        "{body}"
    );
    // A side over the limit.
    let (status, _, body) = scan(&c, &wallet, &blank_png(9000, 8)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("each side may be at most 8192 pixels"),
        "{body}"
    );

    // 2. A verifier's QR code while every decode slot is taken: busy, try again.
    let request = t.verifier_request().await;
    let qr = t
        .http
        .get(request["qr_png"].as_str().unwrap())
        .bearer_auth(VERIFIER_TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let slots = &t.stack.wallet.app.qr_decodes;
    let held: Vec<_> = (0..MAX_CONCURRENT_DECODES)
        .map(|_| slots.try_acquire().expect("a free slot"))
        .collect();
    let (status, retry_after, body) = scan(&c, &wallet, &qr).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry_after, Some(RETRY_AFTER_SECS.to_string()));
    assert!(
        body.contains("The wallet is already reading 2 pictures. Try again in 2 seconds."),
        "{body}"
    );
    drop(held);

    // 3. With a slot free, the same picture opens the consent page.
    let (status, location, body) = scan(&c, &wallet, &qr).await;
    assert_eq!(status, 303, "{body}");
    let consent = location.expect("the consent page");
    assert!(consent.starts_with("/present/consent/"), "{consent}");
    let page = c.get(&consent).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Share your badge?"), "{}", page.body);

    t.stack.stop().await;
}
