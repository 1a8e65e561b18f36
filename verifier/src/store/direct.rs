//! The presentation round trip's queries on SQLite's direct connections (`kit::sqlite`,
//! issue 18): the request lookups (by id, `state`, encryption `kid`: the request object, the
//! response, the result poll), the template and the desk session reads on the calling
//! thread; the request's insertion, its answer (the response's verification, once), a
//! refusal and the response code's use as jobs of the writer thread, committed with
//! whatever other requests' writes are queued. The same SQL as the sqlx bodies of [`Store`](super::Store)
//! (PostgreSQL, and SQLite with `AKASHI_SQLITE_DIRECT=0`), with the same single-use
//! conditions: each claim is one conditional statement inside the job's savepoint.

use kit::sqlite::Direct;
use kit::sqlite::rusqlite::{self, OptionalExtension, Row};

use super::{
    ANSWER_REQUEST, DESK_SESSION_CSRF, INSERT_REQUEST, RECORD_REFUSAL, REQUEST_BY_ID, Refused,
    RequestRow, StoreError, TEMPLATE, TemplateRow, USE_RESPONSE_CODE,
};

/// The 23 columns of `request_columns!`, in [`RequestRow`] order.
fn request_of(r: &Row<'_>) -> rusqlite::Result<RequestRow> {
    Ok(RequestRow {
        id: r.get(0)?,
        client_id: r.get(1)?,
        nonce: r.get(2)?,
        state: r.get(3)?,
        dcql_query: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        responded_at: r.get(7)?,
        result: r.get(8)?,
        refusals: r.get(9)?,
        last_refusal: r.get(10)?,
        response_mode: r.get(11)?,
        encryption_kid: r.get(12)?,
        encryption_key: r.get(13)?,
        request_uri_method: r.get(14)?,
        redirect_uri: r.get(15)?,
        response_code_hash: r.get(16)?,
        session_binding_hash: r.get(17)?,
        webhook_url: r.get(18)?,
        webhook_attempts: r.get(19)?,
        webhook_next_at: r.get(20)?,
        webhook_delivered_at: r.get(21)?,
        webhook_last_error: r.get(22)?,
    })
}

/// One request by `sql` (a `select_requests!` with one parameter, [`kit::numbered!`]).
pub(super) fn request_where(
    direct: &Direct,
    sql: &str,
    key: &str,
) -> Result<Option<RequestRow>, StoreError> {
    direct.readers.read(|conn| {
        Ok(conn
            .prepare_cached(sql)?
            .query_row([key], request_of)
            .optional()?)
    })
}

/// [`super::Store::template`].
pub(super) fn template(direct: &Direct, id: &str) -> Result<Option<TemplateRow>, StoreError> {
    direct.readers.read(|conn| {
        Ok(conn
            .prepare_cached(kit::numbered!(TEMPLATE))?
            .query_row([id], |r| {
                Ok(TemplateRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    body: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })
            .optional()?)
    })
}

/// [`super::Store::desk_session_csrf`].
pub(super) fn desk_session_csrf(
    direct: &Direct,
    id_hash: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    direct.readers.read(|conn| {
        Ok(conn
            .prepare_cached(kit::numbered!(DESK_SESSION_CSRF))?
            .query_row((id_hash, now), |r| r.get(0))
            .optional()?)
    })
}

/// [`super::Store::insert_request`], on the writer thread.
pub(super) async fn insert_request(direct: &Direct, r: RequestRow) -> Result<(), StoreError> {
    direct
        .writer
        .write(move |conn| {
            conn.prepare_cached(kit::numbered!(INSERT_REQUEST))?
                .execute((
                    &r.id,
                    &r.client_id,
                    &r.nonce,
                    &r.state,
                    &r.dcql_query,
                    r.created_at,
                    r.expires_at,
                    &r.response_mode,
                    &r.encryption_kid,
                    &r.encryption_key,
                    &r.request_uri_method,
                    &r.redirect_uri,
                    &r.webhook_url,
                    &r.session_binding_hash,
                ))?;
            Ok::<_, StoreError>(())
        })
        .await
}

/// [`super::Store::answer_request`]'s conditional update, on the writer thread; when it
/// updates nothing, why, read in the same job (so from the state the update saw).
pub(super) async fn answer_request(
    direct: &Direct,
    id: &str,
    now: i64,
    result: &str,
    response_code_hash: Option<&str>,
) -> Result<Result<(), Refused>, StoreError> {
    let (id, result) = (id.to_owned(), result.to_owned());
    let response_code_hash = response_code_hash.map(str::to_owned);
    direct
        .writer
        .write(move |conn| {
            let n = conn
                .prepare_cached(kit::numbered!(ANSWER_REQUEST))?
                .execute((&id, now, result, response_code_hash))?;
            if n == 1 {
                return Ok(Ok(()));
            }
            let row = conn
                .prepare_cached(kit::numbered!(REQUEST_BY_ID))?
                .query_row([&id], request_of)
                .optional()?;
            Ok::<_, StoreError>(Err(
                Refused::of(row.as_ref(), now).unwrap_or(Refused::Replay)
            ))
        })
        .await
}

/// [`super::Store::record_refusal`], on the writer thread.
pub(super) async fn record_refusal(
    direct: &Direct,
    id: &str,
    check: &str,
) -> Result<(), StoreError> {
    let (id, check) = (id.to_owned(), check.to_owned());
    direct
        .writer
        .write(move |conn| {
            conn.prepare_cached(kit::numbered!(RECORD_REFUSAL))?
                .execute((id, check))?;
            Ok::<_, StoreError>(())
        })
        .await
}

/// [`super::Store::use_response_code`]'s conditional update, on the writer thread: true the
/// first time only.
pub(super) async fn use_response_code(
    direct: &Direct,
    id: &str,
    hash: &str,
) -> Result<bool, StoreError> {
    let (id, hash) = (id.to_owned(), hash.to_owned());
    direct
        .writer
        .write(move |conn| {
            let n = conn
                .prepare_cached(kit::numbered!(USE_RESPONSE_CODE))?
                .execute((id, hash))?;
            Ok::<_, StoreError>(n == 1)
        })
        .await
}
