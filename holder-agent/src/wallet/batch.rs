//! Batch issuance for unlinkability (OpenID4VCI 1.0 §8.2 `proofs`, §12.2.4
//! `batch_credential_issuance`): when an issuer offers batches, the wallet asks for several
//! copies of a badge in one request, one `jwt` proof per copy, each by a key of its own
//! (the first the account's holder key, the others fresh), and presents a different copy
//! each time: the least presented one, the lowest index first, so every copy is used once
//! before any is used again. A verifier sees another holder key (`cnf`), another issuer
//! signature and other disclosure digests each time until the copies go round.

use protocol::keys::{Alg, SigningKey};
use protocol::oid4vci::CredentialIssuerMetadata;

use super::{AcceptError, Account, AppError};
use crate::App;
use crate::store::{CopyRow, CredentialRow};

/// How many copies to ask for: the smaller of the issuer's `batch_size` and the wallet's
/// `WALLET_BATCH_SIZE`; one when the issuer offers no batches.
pub fn batch_count(metadata: &CredentialIssuerMetadata, setting: u32) -> usize {
    let offered = metadata
        .batch_credential_issuance
        .map_or(1, |b| b.batch_size.max(1));
    offered.min(setting.max(1)) as usize
}

/// The copy to present next: the least presented, the lowest index among equals.
pub fn next_copy(copies: &[CopyRow]) -> Option<&CopyRow> {
    copies.iter().min_by_key(|c| (c.presented, c.copy_index))
}

/// The credentials of one response, each with the index of the request's key it is bound
/// to (0: the account's): the one bound to the account's key, and the others by key. Each
/// key must have at most one credential, and the account's key one.
pub fn sort_batch<T>(bound: Vec<(usize, T)>) -> Result<(T, Vec<(usize, T)>), AcceptError> {
    let mut main = None;
    let mut others: Vec<(usize, T)> = Vec::new();
    for (index, (key, credential)) in bound.into_iter().enumerate() {
        if (key == 0 && main.is_some()) || others.iter().any(|(k, _)| *k == key) {
            return Err(AcceptError::DuplicateHolderKey { index });
        }
        if key == 0 {
            main = Some(credential);
        } else {
            others.push((key, credential));
        }
    }
    let main = main.ok_or(AcceptError::NoCredentialForHolderKey)?;
    others.sort_by_key(|(k, _)| *k);
    Ok((main, others))
}

/// The seal purpose of a copy's private key.
fn copy_key_purpose(account_id: &str, credential_id: &str, copy_index: i64) -> String {
    format!("holder-key:{account_id}:copy:{credential_id}:{copy_index}")
}

/// How many times a presentation tries to claim a copy before another presentation's
/// claims let it (each failed claim means another presentation took that turn).
const CLAIM_TRIES: usize = 8;

impl App {
    /// Fresh keys for the copies after the first (which the account's key is for).
    pub(crate) fn copy_keys(count: usize) -> Vec<SigningKey> {
        (1..count)
            .map(|_| SigningKey::generate(Alg::ES256))
            .collect()
    }

    /// The rows of a badge's copies: copy 0 is `row` itself (the account's key), copy `i`
    /// the `i`th of `others` with its key sealed.
    pub(crate) fn copy_rows(
        &self,
        row: &CredentialRow,
        others: &[(String, &SigningKey)],
    ) -> Vec<CopyRow> {
        let mut copies = vec![CopyRow {
            credential_id: row.id.clone(),
            copy_index: 0,
            raw: row.raw.clone(),
            holder_key: None,
            presented: 0,
        }];
        for (i, (raw, key)) in others.iter().enumerate() {
            let copy_index = i as i64 + 1;
            let sealed = self.seal.seal(
                &copy_key_purpose(&row.account_id, &row.id, copy_index),
                &key.to_secret_bytes(),
            );
            copies.push(CopyRow {
                credential_id: row.id.clone(),
                copy_index,
                raw: raw.clone(),
                holder_key: Some(protocol::b64::encode(&sealed)),
                presented: 0,
            });
        }
        copies
    }

    /// The SD-JWT and key to present `row` with this time: the next copy (counted as
    /// presented), or the row itself with the account's key when it has no copies.
    pub(crate) async fn presentation_copy(
        &self,
        account: &Account,
        row: &CredentialRow,
    ) -> Result<(String, Option<SigningKey>), AppError> {
        for _ in 0..CLAIM_TRIES {
            let copies = self.store.copies(&row.id).await?;
            let Some(copy) = next_copy(&copies) else {
                return Ok((row.raw.clone(), None));
            };
            if !self
                .store
                .claim_copy(&row.id, copy.copy_index, copy.presented)
                .await?
            {
                continue;
            }
            let key = match &copy.holder_key {
                None => None,
                Some(sealed) => {
                    let purpose = copy_key_purpose(&account.id, &row.id, copy.copy_index);
                    let secret = protocol::b64::decode(sealed)
                        .ok()
                        .and_then(|bytes| self.seal.open(&purpose, &bytes).ok())
                        .ok_or_else(|| {
                            AppError::Internal(format!(
                                "the key of copy {} of credential {} cannot be opened (wrong seal key?)",
                                copy.copy_index, row.id
                            ))
                        })?;
                    Some(SigningKey::from_secret_bytes(&secret).map_err(|e| {
                        AppError::Internal(format!(
                            "the key of copy {} of credential {}: {e}",
                            copy.copy_index, row.id
                        ))
                    })?)
                }
            };
            return Ok((copy.raw.clone(), key));
        }
        Err(AppError::Internal(format!(
            "no copy of credential {} could be claimed in {CLAIM_TRIES} tries",
            row.id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(copy_index: i64, presented: i64) -> CopyRow {
        CopyRow {
            credential_id: "c".into(),
            copy_index,
            raw: format!("raw-{copy_index}"),
            holder_key: None,
            presented,
        }
    }

    /// Presenting takes the copies in turn: each once before any twice, then round again.
    #[test]
    fn copies_are_presented_in_turn_and_reused_when_all_are_used() {
        let mut copies = vec![copy(0, 0), copy(1, 0), copy(2, 0)];
        let mut order = Vec::new();
        for _ in 0..7 {
            let next = next_copy(&copies).unwrap().copy_index;
            order.push(next);
            copies[next as usize].presented += 1;
        }
        assert_eq!(order, [0, 1, 2, 0, 1, 2, 0]);
        // A copy added later (or one presented less) is taken first.
        let copies = vec![copy(0, 3), copy(1, 2), copy(2, 3)];
        assert_eq!(next_copy(&copies).unwrap().copy_index, 1);
        assert_eq!(next_copy(&[]), None);
    }

    /// An issuer's answer to a batch: in any order, one credential per key; two for one
    /// key, or none for the account's key, is refused naming it.
    #[test]
    fn a_batch_needs_one_credential_per_key_and_one_for_the_accounts() {
        let (main, others) = sort_batch(vec![(2, "c"), (0, "a"), (1, "b")]).unwrap();
        assert_eq!(main, "a");
        assert_eq!(others, [(1, "b"), (2, "c")]);
        assert!(matches!(
            sort_batch(vec![(0, "a"), (1, "b"), (1, "b2")]),
            Err(AcceptError::DuplicateHolderKey { index: 2 })
        ));
        assert!(matches!(
            sort_batch(vec![(0, "a"), (0, "a2")]),
            Err(AcceptError::DuplicateHolderKey { index: 1 })
        ));
        assert!(matches!(
            sort_batch(vec![(1, "b"), (2, "c")]),
            Err(AcceptError::NoCredentialForHolderKey)
        ));
        let err = sort_batch::<&str>(vec![]).unwrap_err();
        assert_eq!(err.code(), "invalid_credential");
    }

    #[test]
    fn the_batch_is_the_smaller_of_the_issuers_and_the_wallets() {
        let md = |batch: Option<u32>| -> CredentialIssuerMetadata {
            let mut v = serde_json::json!({
                "credential_issuer": "https://i.example",
                "credential_endpoint": "https://i.example/credential",
                "credential_configurations_supported": {}
            });
            if let Some(b) = batch {
                v["batch_credential_issuance"] = serde_json::json!({"batch_size": b});
            }
            serde_json::from_value(v).unwrap()
        };
        assert_eq!(batch_count(&md(None), 3), 1);
        assert_eq!(batch_count(&md(Some(10)), 3), 3);
        assert_eq!(batch_count(&md(Some(2)), 3), 2);
        assert_eq!(batch_count(&md(Some(10)), 1), 1);
        assert_eq!(batch_count(&md(Some(0)), 3), 1);
        assert_eq!(batch_count(&md(Some(5)), 0), 1);
    }
}
