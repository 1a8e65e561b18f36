//! Reading a request's result back, for the result API, the pages and their event streams:
//! by id, or once with the same-device `response_code`; and forgetting results past their
//! retention.

use super::area::Requests;
use super::result::{RequestResult, result_view};
use crate::config::VerifierProfile;
use crate::error::Error;

impl Requests {
    /// Tells whoever waits on request `id` (the QR page) that its result is stored.
    pub fn result_ready(&self, id: &str) {
        // No receiver (no page open) is not an error.
        let _ = self.results.send(id.to_owned());
    }

    /// Deletes the requests and results past their retention; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        Ok(self
            .store
            .purge_requests(self.clock.now() - self.result_ttl)
            .await?)
    }

    /// As [`App::result`]; with a `response_code` (same-device flows), only if it is the
    /// one given to the wallet for this request, and only once: the code is used up. A
    /// request made with a session binding opens only with that binding shown back too
    /// (from the session the request was made in); a wrong or missing one leaves the code
    /// unused. Under the `haip` profile a same-device request's result opens only so.
    pub async fn result_with_code(
        &self,
        id: &str,
        response_code: Option<&str>,
        session_binding: Option<&str>,
    ) -> Result<RequestResult, Error> {
        let Some(code) = response_code else {
            let row = self
                .store
                .request(id)
                .await?
                .ok_or_else(|| Error::NotFound("request".into()))?;
            if self.profile == VerifierProfile::Haip && row.redirect_uri.is_some() {
                return Err(Error::invalid(
                    "response_code",
                    "refused by the haip profile (VERIFIER_PROFILE=haip): a same-device request's result opens only with the response_code its redirect carried, from the session it was made in",
                ));
            }
            return Ok(result_view(row, self.clock.now()));
        };
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound("request".into()))?;
        if let Some(expected) = &row.session_binding_hash {
            let shown = session_binding.map(protocol::b64::sha256);
            let same = shown.as_deref().is_some_and(|h| {
                protocol::secret::constant_time_eq(h.as_bytes(), expected.as_bytes())
            });
            if !same {
                return Err(Error::invalid(
                    "session_binding",
                    "the response code was shown back from another session than the one the request was made in (missing or different session_binding)",
                ));
            }
        }
        let hash = protocol::b64::sha256(code);
        let matches = row
            .response_code_hash
            .as_deref()
            .is_some_and(|h| protocol::secret::constant_time_eq(h.as_bytes(), hash.as_bytes()));
        if !matches || !self.store.use_response_code(&row.id, &hash).await? {
            return Err(Error::invalid(
                "response_code",
                "not the response code given to the wallet for this request, or already used",
            ));
        }
        Ok(result_view(row, self.clock.now()))
    }

    /// Where request `id` stands, with every check and its outcome.
    pub async fn result(&self, id: &str) -> Result<RequestResult, Error> {
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound("request".into()))?;
        Ok(result_view(row, self.clock.now()))
    }
}
