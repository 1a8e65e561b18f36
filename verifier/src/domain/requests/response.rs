//! The Response Endpoint (`direct_post`, OpenID4VP 1.0 §8.2; `direct_post.jwt`, §8.3): the
//! wallet's answer to the open request its `state` names is decrypted when the request
//! asked for `direct_post.jwt` (the JWE `kid` names the request's key), verified check by
//! check ([`protocol::verify`]) and stored as the request's result in one conditional
//! write, so a request is answered once: by the first response verified. A response that
//! cannot be decrypted, or a plain form sent to such a request, fails the
//! `response_encryption` check.

use protocol::jose::jwe;
use protocol::oid4vp::dcql::DcqlQuery;
use protocol::oid4vp::{DirectPostBody, ResponseError, ResponseMode};
use protocol::verify::{self, Check, Expectations, Verification};
use serde_json::Value;

use super::area::Requests;
use super::request_object::{invalid_request, stored_response_mode};
use super::result::to_json;
use crate::config::VerifierProfile;
use crate::error::Error;
use crate::store::{Refused, RequestRow};

const RESPONSE_CODE_BYTES: usize = 16;

/// The name of the check that a `direct_post.jwt` response was encrypted to the request's key.
pub const CHECK_RESPONSE_ENCRYPTION: &str = "response_encryption";

/// What the Response Endpoint tells the wallet about a response it received and verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// Where the wallet should send the user next, for requests made with a `redirect_uri`
    /// (same-device flows, §8.2): it carries a fresh `response_code`.
    pub redirect_uri: Option<String>,
    /// The verifier did not accept the presentation: the checks that failed (name and
    /// detail), in the order they ran. `None` when every check passed, and when the wallet
    /// itself answered with an error (the holder declined, or held nothing that matched):
    /// that answer was received as sent and there is nothing to refuse.
    pub not_accepted: Option<Vec<Check>>,
}

/// How an answer reached the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Channel {
    /// Posted by the wallet to the Response Endpoint (`direct_post`, `direct_post.jwt`).
    ResponseEndpoint,
    /// Returned by the browser's Digital Credentials API to the desk page, which posted it
    /// (`dc_api`, `dc_api.jwt`).
    DcApi,
}

/// How a response met the request's encryption requirement.
pub(super) enum Encryption {
    /// `direct_post`: nothing to check.
    NotRequired,
    /// Decrypted with the request's key.
    Decrypted(String),
    /// Refused: the detail names why.
    Failed(String),
}

impl Requests {
    /// The Response Endpoint (`direct_post`, OpenID4VP 1.0 §8.2; `direct_post.jwt`, §8.3):
    /// the form's pairs. The first response for a known, unexpired `state` is accepted and
    /// verified; the verification is stored whatever its outcome. Later responses are
    /// refused (and recorded as a failed `replay` check), as are responses after expiry.
    /// A response that fails `response_encryption` is stored as the (rejected) result and
    /// answered with `invalid_request` naming the failure.
    ///
    /// Returns where the wallet should send the user next (same-device requests) and,
    /// when the presentation was verified and not accepted, which checks failed
    /// ([`Answered`]).
    pub async fn receive_response(&self, pairs: Vec<(String, String)>) -> Result<Answered, Error> {
        let (body, state, encryption) =
            match DirectPostBody::from_form(pairs.iter().map(|(k, v)| (k, v))) {
                Ok(DirectPostBody::Encrypted(compact)) => self.receive_encrypted(&compact).await?,
                parsed => receive_plain(&pairs, parsed)?,
            };
        self.conclude(&state, body, encryption, Channel::ResponseEndpoint)
            .await
    }

    /// Accepts the answer for `state` once, verifies it against its request and stores
    /// the result (whichever way it came: the Response Endpoint or the desk page's
    /// Digital Credentials API), and says what to tell the wallet.
    pub(super) async fn conclude(
        &self,
        state: &str,
        body: Result<DirectPostBody, String>,
        encryption: Encryption,
        channel: Channel,
    ) -> Result<Answered, Error> {
        let now = self.clock.now();
        let row = self.answerable(state, now).await?;
        let encryption = match encryption {
            Encryption::NotRequired
                if stored_response_mode(&row.response_mode)? == ResponseMode::DirectPostJwt =>
            {
                Encryption::Failed(match channel {
                    Channel::ResponseEndpoint => "the request asked for direct_post.jwt but the response was a plain form, not `response=<JWE>`".to_owned(),
                    Channel::DcApi => "the request asked for dc_api.jwt but the answer was a plain `vp_token`, not `response=<JWE>`".to_owned(),
                })
            }
            Encryption::NotRequired if self.profile == VerifierProfile::Haip => {
                Encryption::Failed(
                    "refused by the haip profile (VERIFIER_PROFILE=haip): responses must be encrypted (direct_post.jwt or dc_api.jwt, HAIP 1.0 §5); this one was a plain form".to_owned(),
                )
            }
            other => other,
        };
        let refusal = match &encryption {
            Encryption::Failed(detail) => Some(detail.clone()),
            _ => None,
        };
        let verification = self
            .verify_response(&row, body, encryption, channel, now)
            .await?;
        // The wallet's own error answer, apart from a presentation that failed (an
        // undecryptable one carries an `error` too, but it is a rejection).
        let verdict = if verification.verified() {
            "accepted"
        } else if verification.error.is_some() && refusal.is_none() {
            "wallet_error"
        } else {
            "rejected"
        };
        let not_accepted = (verification.error.is_none() && !verification.verified()).then(|| {
            verification
                .checks
                .iter()
                .filter(|c| c.failed())
                .cloned()
                .collect::<Vec<_>>()
        });
        let response_code = match (&row.redirect_uri, &refusal, channel) {
            (Some(_), None, Channel::ResponseEndpoint) => {
                Some(protocol::b64::random(RESPONSE_CODE_BYTES))
            }
            _ => None,
        };
        let code_hash = response_code.as_deref().map(protocol::b64::sha256);
        // The one write: answered here unless another response for this request was
        // verified first (its answer stands, this one is refused as a replay).
        if let Err(refused) = self
            .store
            .answer_request(&row.id, now, &to_json(&verification), code_hash.as_deref())
            .await?
        {
            // The row as read before is stale: the other answer is read for its time.
            return Err(self.refuse(&row.id, refused, now, None).await?);
        }
        self.result_ready(&row.id);
        self.metrics.presentations.add(verdict, 1);
        if row.webhook_url.is_some() {
            // Now, not at the next tick; the wallet's answer does not wait for it.
            let webhooks = self.webhooks.clone();
            tokio::spawn(async move {
                if let Err(e) = webhooks.deliver_due().await {
                    tracing::warn!(error = %e, "webhook delivery");
                }
            });
        }
        match refusal {
            Some(detail) => Err(invalid_request(format!(
                "{CHECK_RESPONSE_ENCRYPTION}: {detail}"
            ))),
            None => Ok(Answered {
                redirect_uri: row
                    .redirect_uri
                    .zip(response_code)
                    .map(|(uri, code)| format!("{uri}#response_code={code}")),
                not_accepted,
            }),
        }
    }

    /// A `response=<JWE>` (`direct_post.jwt`, §8.3): decrypted with the key of the request
    /// its `kid` names, whose `state` the decrypted parameters must carry.
    async fn receive_encrypted(&self, compact: &str) -> Result<Received, Error> {
        let (row, opened) = self.open_encrypted(compact).await?;
        let (pairs, enc) = match opened {
            Ok(opened) => opened,
            Err(detail) => return Ok((Err(detail.clone()), row.state, Encryption::Failed(detail))),
        };
        let state = pairs
            .iter()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.clone());
        if state.as_deref() != Some(row.state.as_str()) {
            let detail = format!(
                "the decrypted response's `state` {state:?} is not the state of request {}, whose key it was encrypted to",
                row.id
            );
            return Ok((Err(detail.clone()), row.state, Encryption::Failed(detail)));
        }
        let body = match DirectPostBody::from_form(pairs.iter().map(|(k, v)| (k, v))) {
            Ok(DirectPostBody::Encrypted(_)) => {
                Err("the decrypted response holds another `response`".to_owned())
            }
            Ok(body) => Ok(body),
            Err(ResponseError::BadVpToken(e)) => Err(e),
            Err(e) => Err(format!("the decrypted parameters: {e}")),
        };
        Ok((body, row.state, Encryption::Decrypted(enc)))
    }

    /// Finds the request a `response=<JWE>` is addressed to (by the JWE `kid`, the only
    /// readable part) and decrypts it with that request's key. Returns the request and
    /// either the decrypted parameters as form pairs with the `enc` used, or why they could
    /// not be had.
    async fn open_encrypted(
        &self,
        compact: &str,
    ) -> Result<(RequestRow, Result<(Vec<(String, String)>, String), String>), Error> {
        let header = jwe::protected_header(compact)
            .map_err(|e| invalid_request(format!("`response`: {e}")))?;
        let kid = header.get("kid").and_then(Value::as_str).ok_or_else(|| {
            invalid_request("the `response` JWE has no `kid` naming the request's key")
        })?;
        let row = self
            .store
            .request_by_encryption_kid(kid)
            .await?
            .ok_or_else(|| {
                invalid_request(
                    "the `response` JWE's `kid` names no direct_post.jwt presentation request",
                )
            })?;
        let sealed = row
            .encryption_key
            .as_deref()
            .ok_or_else(|| Error::Internal(format!("request {} has a kid but no key", row.id)))?;
        let key = self.encryption_key(&row.id, sealed)?;
        let opened = match key.decrypt(compact) {
            Err(e) => Err(e.to_string()),
            Ok(plain) => {
                let enc = header
                    .get("enc")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match serde_json::from_slice::<serde_json::Map<String, Value>>(&plain) {
                    Err(e) => Err(format!("the decrypted payload is not a JSON object: {e}")),
                    Ok(params) => Ok((response_pairs(params), enc)),
                }
            }
        };
        Ok((row, opened))
    }

    /// The request `state` names (kept since its request object was served here, else
    /// read), if a response arriving at `now` can answer it: known, not answered, not
    /// expired. A refused response is recorded on its request. Nothing is written for one
    /// that can: the answer is written once it is verified
    /// ([`crate::store::Store::answer_request`]), and whichever response is verified first
    /// answers.
    async fn answerable(&self, state: &str, now: i64) -> Result<RequestRow, Error> {
        let row = match self.served.take(state, now) {
            Some(served) => Some(served),
            None => self.store.request_by_state(state).await?,
        };
        match (Refused::of(row.as_ref(), now), row) {
            (None, Some(row)) => Ok(row),
            (Some(refused), Some(row)) => {
                let id = row.id.clone();
                Err(self.refuse(&id, refused, now, Some(row)).await?)
            }
            (_, None) => Err(self.refuse("", Refused::UnknownState, now, None).await?),
        }
    }

    /// Counts a refused response and records on request `id` the check that refused it
    /// (for an unknown `state` there is no request: `id` is not used); returns the error
    /// the sender is answered with. `known` is the request as just read, if it is current;
    /// else it is read.
    async fn refuse(
        &self,
        id: &str,
        refused: Refused,
        now: i64,
        known: Option<RequestRow>,
    ) -> Result<Error, Error> {
        self.metrics.presentations.add("refused", 1);
        let row = match (refused, known) {
            (Refused::UnknownState, _) => None,
            (_, Some(row)) => Some(row),
            (_, None) => self.store.request(id).await?,
        };
        let (check, answer) = match refused {
            Refused::UnknownState => {
                return Ok(invalid_request("`state` matches no presentation request"));
            }
            Refused::Replay => {
                let first = row.and_then(|row| row.responded_at).unwrap_or_default();
                (
                    Check::fail(
                        "replay",
                        format!(
                            "a second response for this state arrived at {now} and was refused; the first one (at {first}) stands"
                        ),
                    ),
                    "a response for this state was already received",
                )
            }
            Refused::Expired => {
                let Some(row) = row else {
                    return Ok(invalid_request("the presentation request has expired"));
                };
                (
                    Check::fail(
                        "request",
                        format!(
                            "a response arrived at {now}, after the request expired at {}",
                            row.expires_at
                        ),
                    ),
                    "the presentation request has expired",
                )
            }
        };
        self.store.record_refusal(id, &to_json(&check)).await?;
        Ok(invalid_request(answer))
    }

    /// Verifies a response against the request it may answer.
    #[expect(clippy::expect_used, reason = "a vp_token map serialises")]
    async fn verify_response(
        &self,
        row: &RequestRow,
        body: Result<DirectPostBody, String>,
        encryption: Encryption,
        channel: Channel,
        now: i64,
    ) -> Result<Verification, Error> {
        let (named, audience) = match channel {
            Channel::ResponseEndpoint => ("`state` names", row.client_id.clone()),
            Channel::DcApi => (
                "the desk page posted the Digital Credentials API answer for",
                self.dc_api_audience(row)?,
            ),
        };
        let mut head = vec![
            Check::pass(
                "request",
                format!(
                    "{named} request {}, answered at {now} before it expired at {}",
                    row.id, row.expires_at
                ),
            ),
            Check::pass("replay", "the first response for this request"),
        ];
        match encryption {
            Encryption::NotRequired => {}
            Encryption::Decrypted(enc) => head.push(Check::pass(
                CHECK_RESPONSE_ENCRYPTION,
                format!("`response` is a JWE (ECDH-ES, {enc}) to this request's key, decrypted"),
            )),
            Encryption::Failed(detail) => {
                head.push(Check::fail(CHECK_RESPONSE_ENCRYPTION, detail));
                head.push(Check::unset(
                    "vp_token",
                    "not checked: the response failed response_encryption",
                ));
                return Ok(Verification {
                    checks: head,
                    error: Some(format!("{CHECK_RESPONSE_ENCRYPTION} failed")),
                    ..Verification::default()
                });
            }
        }
        let query: DcqlQuery = serde_json::from_str(&row.dcql_query)
            .map_err(|e| Error::Internal(format!("stored DCQL query: {e}")))?;
        let mut verification = match body {
            Ok(DirectPostBody::Response(resp)) => {
                let vp_token =
                    serde_json::to_value(&resp.vp_token).expect("a vp_token map serialises");
                let exp = Expectations {
                    client_id: &audience,
                    nonce: &row.nonce,
                    query: &query,
                    trusted_issuers: &self.trusted_issuers,
                    now,
                    profile: self.profile.verify(),
                };
                verify::verify_vp_token(&self.sources, &self.status_cache, &exp, &vp_token).await
            }
            Ok(DirectPostBody::Error(err)) => {
                let text = match &err.error_description {
                    Some(d) => format!("{}: {d}", err.error.as_str()),
                    None => err.error.as_str().to_owned(),
                };
                Verification {
                    checks: vec![Check::fail(
                        "vp_token",
                        format!("the wallet sent no vp_token but the error {text}"),
                    )],
                    disclosed: Default::default(),
                    error: Some(text),
                }
            }
            Ok(DirectPostBody::Encrypted(_)) => Verification {
                checks: vec![Check::fail(
                    "vp_token",
                    "the decrypted response holds another `response`",
                )],
                ..Verification::default()
            },
            Err(shape) => Verification {
                checks: vec![
                    Check::fail("vp_token", format!("`vp_token` is malformed: {shape}")),
                    Check::unset("dcql", "not checked: `vp_token` is malformed"),
                ],
                ..Verification::default()
            },
        };
        head.append(&mut verification.checks);
        verification.checks = head;
        Ok(verification)
    }
}

/// A received response: its body (or why it is malformed), the `state` it answers, and how
/// it met the request's encryption requirement.
type Received = (Result<DirectPostBody, String>, String, Encryption);

/// A plain `vp_token=…&state=…` or `error=…` form (§8.2).
fn receive_plain(
    pairs: &[(String, String)],
    parsed: Result<DirectPostBody, ResponseError>,
) -> Result<Received, Error> {
    let body = match parsed {
        Ok(body) => Ok(body),
        Err(ResponseError::BadVpToken(e)) => Err(e),
        Err(e) => return Err(invalid_request(e.to_string())),
    };
    let state = pairs
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| invalid_request("`state` is missing"))?;
    Ok((body, state, Encryption::NotRequired))
}

/// The parameters of a decrypted response as form pairs: strings as they are, `vp_token`
/// (an object) as its JSON text, as in a `direct_post` form (§8.2, §8.3).
pub(super) fn response_pairs(params: serde_json::Map<String, Value>) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}
