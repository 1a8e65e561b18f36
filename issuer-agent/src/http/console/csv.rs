//! The console's CSV downloads (registrations, audit log), streamed a batch at a time so
//! 100,000 rows are never held at once.

use std::future::Future;

use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::domain::console::Cursor;
use crate::error::AppError;

/// A download of `head` (the byte order mark and the header line) and then every batch's
/// rows, as `rows` writes them: `first` is read before any byte is sent (so a bad filter is
/// an error page), `next_of` says where a batch ended (`None`: it was the last), and
/// `fetch` reads the batch after that. A batch that cannot be read cuts the file short (the
/// browser reports the download failed) and is logged as `what`.
pub(super) fn streamed<P, R, F, Fut>(
    disposition: &'static str,
    what: &'static str,
    head: String,
    first: P,
    next_of: fn(&P) -> Option<Cursor>,
    rows: R,
    fetch: F,
) -> Response
where
    P: Send + 'static,
    R: Fn(&P) -> String + Clone + Send + 'static,
    F: Fn(Cursor) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<P, AppError>> + Send,
{
    let state = Some((head, first));
    let body = futures_util::stream::unfold(state, move |state| {
        let (rows, fetch) = (rows.clone(), fetch.clone());
        async move {
            let (mut chunk, page) = state?;
            chunk.push_str(&rows(&page));
            let Some(next) = next_of(&page) else {
                return Some((Ok::<_, std::io::Error>(chunk), None));
            };
            match fetch(next).await {
                Ok(page) => Some((Ok(chunk), Some((String::new(), page)))),
                Err(e) => {
                    tracing::error!(error = %e, "{what}");
                    Some((Err(std::io::Error::other("export failed")), None))
                }
            }
        }
    });
    let mut r = Response::new(axum::body::Body::from_stream(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
