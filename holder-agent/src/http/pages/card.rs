//! A held badge's business card (SVG, PDF, PNG), its QR code alone (SVG, PNG) and its
//! image as kept with it ([`crate::wallet::badge_image`]), for the signed-in holder of
//! that badge only: anyone else gets 404. The QR code leads to the
//! badge's public page ([`crate::wallet::badge_card`]); a badge without one has no card.
//! With `?qr=offline` the QR code carries a card credential for the verifier's offline
//! check page instead ([`QrChoice::Offline`]), whether or not the badge is public.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::App;
use crate::AppError;
use crate::http::pages::{PageError, Web};
use crate::wallet::badge_card::{CardRefused, QrChoice};
use crate::wallet::card::{self, Card, CardError};

/// The card routes' query: `qr=offline` chooses the offline QR code.
#[derive(serde::Deserialize, Default)]
pub struct CardQuery {
    #[serde(default)]
    qr: Option<String>,
}

impl CardQuery {
    fn choice(&self) -> QrChoice {
        match self.qr.as_deref() {
            Some("offline") => QrChoice::Offline,
            _ => QrChoice::Page,
        }
    }
}

/// Pixels per module of `qr.png`.
const QR_PNG_SCALE: u32 = 10;

pub fn router() -> Router<App> {
    Router::new()
        .route("/badges/{id}/card.svg", get(card_svg))
        .route("/badges/{id}/card.pdf", get(card_pdf))
        .route("/badges/{id}/card.png", get(card_png))
        .route("/badges/{id}/qr.svg", get(qr_svg))
        .route("/badges/{id}/qr.png", get(qr_png))
        .route("/badges/{id}/image", get(badge_image))
}

/// What each route makes from the card.
#[derive(Clone, Copy)]
enum Output {
    CardSvg,
    CardPdf,
    CardPng,
    QrSvg,
    QrPng,
}

impl Output {
    fn file_name(self) -> &'static str {
        match self {
            Output::CardSvg => "card.svg",
            Output::CardPdf => "card.pdf",
            Output::CardPng => "card.png",
            Output::QrSvg => "qr.svg",
            Output::QrPng => "qr.png",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Output::CardSvg | Output::QrSvg => "image/svg+xml",
            Output::CardPdf => "application/pdf",
            Output::CardPng | Output::QrPng => "image/png",
        }
    }

    fn render(self, card: &Card) -> Result<Vec<u8>, CardError> {
        match self {
            Output::CardSvg => card::card_svg(card).map(String::into_bytes),
            Output::CardPdf => card::card_pdf(card),
            Output::CardPng => card::card_png(card),
            Output::QrSvg => card::qr_svg(&card.public_url).map(String::into_bytes),
            Output::QrPng => card::qr_png(&card.public_url, QR_PNG_SCALE),
        }
    }
}

async fn card_svg(
    app: State<App>,
    web: Web,
    id: Path<String>,
    Query(q): Query<CardQuery>,
) -> Result<Response, PageError> {
    respond(app, web, id, Output::CardSvg, q.choice()).await
}

async fn card_pdf(
    app: State<App>,
    web: Web,
    id: Path<String>,
    Query(q): Query<CardQuery>,
) -> Result<Response, PageError> {
    respond(app, web, id, Output::CardPdf, q.choice()).await
}

async fn card_png(
    app: State<App>,
    web: Web,
    id: Path<String>,
    Query(q): Query<CardQuery>,
) -> Result<Response, PageError> {
    respond(app, web, id, Output::CardPng, q.choice()).await
}

async fn qr_svg(
    app: State<App>,
    web: Web,
    id: Path<String>,
    Query(q): Query<CardQuery>,
) -> Result<Response, PageError> {
    respond(app, web, id, Output::QrSvg, q.choice()).await
}

async fn qr_png(
    app: State<App>,
    web: Web,
    id: Path<String>,
    Query(q): Query<CardQuery>,
) -> Result<Response, PageError> {
    respond(app, web, id, Output::QrPng, q.choice()).await
}

/// `GET /badges/{id}/image`: the badge's image as kept with it (an SVG cannot run script:
/// it is served sandboxed).
async fn badge_image(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let here = format!(
        "/badges/{}/image",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    );
    let account = match web.require_account(&here) {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    let image = app
        .held_badge_image(account, &id)
        .await
        .map_err(|e| web.error(e))?
        .ok_or_else(|| web.not_found())?;
    let content_type = image.kind().media_type();
    let mut r = (StatusCode::OK, image.bytes().to_vec()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

async fn respond(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    output: Output,
    qr: QrChoice,
) -> Result<Response, PageError> {
    let here = format!(
        "/badges/{}/{}",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>(),
        output.file_name()
    );
    let account = match web.require_account(&here) {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    let lang = match web.lang() {
        crate::http::pages::Lang::En => card::Lang::En,
        crate::http::pages::Lang::Ja => card::Lang::Ja,
    };
    let card = app
        .badge_card(account, &id, lang, qr)
        .await
        .map_err(|e| web.error(e))?
        .ok_or_else(|| web.not_found())?
        .map_err(|refused| {
            let status = match refused {
                CardRefused::Issuer(_) => StatusCode::BAD_GATEWAY,
                CardRefused::NotPublic | CardRefused::NoOfflineCheck => StatusCode::NOT_FOUND,
            };
            web.page_error(status, refused.to_string())
        })?;
    // Rendering is CPU work (the PDF subsets fonts, the image is rasterised).
    let bytes = tokio::task::spawn_blocking(move || output.render(&card))
        .await
        .map_err(|e| web.error(AppError::Internal(format!("card task: {e}"))))?
        .map_err(|e| web.error(AppError::Internal(format!("card: {e}"))))?;
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(output.content_type()),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(match output {
            Output::CardSvg => "inline; filename=\"card.svg\"",
            Output::CardPdf => "inline; filename=\"card.pdf\"",
            Output::CardPng => "inline; filename=\"card.png\"",
            Output::QrSvg => "inline; filename=\"qr.svg\"",
            Output::QrPng => "inline; filename=\"qr.png\"",
        }),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // An SVG opened directly is a document: no scripts, no fetches, images inline only.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src data:; style-src 'unsafe-inline'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}
