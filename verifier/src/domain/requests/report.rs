//! Reading a request's result back, for the result API, the pages and their event streams:
//! by id, or once with the same-device `response_code`; and forgetting results past their
//! retention.

use super::area::Requests;
use super::result::{RequestResult, result_view};
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
    /// one given to the wallet for this request, and only once: the code is used up.
    pub async fn result_with_code(
        &self,
        id: &str,
        response_code: Option<&str>,
    ) -> Result<RequestResult, Error> {
        let Some(code) = response_code else {
            return self.result(id).await;
        };
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound("request".into()))?;
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
