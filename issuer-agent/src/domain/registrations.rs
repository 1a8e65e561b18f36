//! Registrations: a person invited to receive an achievement's badge. Registering writes
//! the invitation email (or, when the wallet already knows the address, the offer and the
//! badge-receipt email) in the same transaction; the wallet's callback turns each waiting
//! registration into an offer and its email, exactly once.

use std::collections::HashMap;

use kit::mail::{Body, DirEntry, Head, Outgoing};
use protocol::invitation::{HolderBinding, Invitation, Unverified};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::domain::offers::{
    EvidenceInput, MAX_TX_CODE_FAILURES, Recipient, ResultInput, evidence_and_results,
};
use crate::error::AppError;
use crate::mail::letters::{self, Branding, Facts};
use crate::store::{
    AchievementRow, Advance, Bound, EventRow, OfferRow, OutboxRow, RegistrationInsert,
    RegistrationRow,
};

/// What the letters of one claim of the outbox are written from ([`App::letter_facts`]):
/// their registrations, achievements and offers, by id.
pub struct LetterFacts {
    registrations: HashMap<String, RegistrationRow>,
    achievements: HashMap<String, AchievementRow>,
    offers: HashMap<String, OfferRow>,
}

/// The languages of the emails.
pub const LOCALES: [&str; 2] = ["en", "ja"];

/// One person to register, as the API, the CLI and the import take it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistration {
    pub name: String,
    pub email: String,
    /// `en` (default) or `ja`: the language of the emails.
    #[serde(default)]
    pub locale: Option<String>,
    /// Protect the offer with a PIN sent in a separate email.
    #[serde(default)]
    pub tx_code: bool,
    #[serde(default)]
    pub evidence: Vec<EvidenceInput>,
    #[serde(default)]
    pub results: Vec<ResultInput>,
}

/// A registration whose fields were checked.
#[derive(Debug, Clone)]
pub struct CheckedRegistration {
    pub recipient: Recipient,
    pub locale: &'static str,
    pub tx_code: bool,
    pub evidence: Option<String>,
    pub results: Option<String>,
}

impl NewRegistration {
    /// Checks every field; the error names the field (`name`, `email`, `locale`, …).
    pub fn check(&self) -> Result<CheckedRegistration, AppError> {
        let recipient = Recipient::check(&self.name, &self.email).map_err(|e| match e {
            AppError::BadRequest { field, detail } => AppError::BadRequest {
                field: field.trim_start_matches("recipient_").to_owned(),
                detail,
            },
            other => other,
        })?;
        let locale = match self.locale.as_deref().map(str::trim) {
            None | Some("") => "en",
            Some(l) => LOCALES
                .iter()
                .copied()
                .find(|x| x.eq_ignore_ascii_case(l))
                .ok_or_else(|| AppError::bad_request("locale", "must be en or ja"))?,
        };
        let (evidence, results) = evidence_and_results(&self.evidence, &self.results)?;
        Ok(CheckedRegistration {
            recipient,
            locale,
            tx_code: self.tx_code,
            evidence,
            results,
        })
    }
}

/// What registering did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Registered {
    /// New; the invitation email is queued.
    Invited,
    /// New; the wallet knows the address, so the offer and its email are queued.
    Offered,
    /// The same person and achievement were registered before: nothing changed.
    Duplicate,
}

/// A registration as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    pub id: String,
    pub achievement_id: String,
    pub name: String,
    pub email: String,
    pub locale: String,
    pub tx_code: bool,
    /// invited, invitation_expired, wallet_registered, offered, offer_expired, offer_locked,
    /// issued, revoked, suspended.
    #[schema(value_type = String)]
    pub state: &'static str,
    pub created_at: i64,
    pub invitation_expires_at: i64,
    pub wallet_registered_at: Option<i64>,
    /// When the person first opened the invitation's link (a valid invitation).
    pub invitation_opened_at: Option<i64>,
    #[schema(value_type = Vec<Object>)]
    pub offers: Vec<Value>,
    /// Each email: `id`, `kind`, `to`, `status` (pending, retrying, failed, bounced,
    /// sent), `attempts`, `sent_at`, `last_error` (the mail server's reply, or the bounce's
    /// status and diagnostic), `offer_id`.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Value>,
    /// What happened, oldest first (`registered`, `invitation_email_sent`,
    /// `invitation_opened`, `mail_bounced`, `wallet_registered`, `issued`, …).
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<Value>,
}

/// The body of the wallet's callback.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CallbackRequest {
    /// A holder-key binding JWT (`typ` `akashi-holder-binding+jwt`, the holder's public key
    /// in the header `jwk`, claims `aud` = this issuer, `sub` = the invitation's `sub`,
    /// `iat`), signed by that key. Absent: the address's offers are unbound.
    #[serde(default)]
    pub holder_binding: Option<String>,
}

/// The wallet's callback, answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallbackOutcome {
    pub registration_id: String,
    /// Registrations (of this address, any achievement) that got their offer now; empty
    /// when the callback was already made.
    pub offered: Vec<String>,
}

/// A registration as lists show it (the API's page and the CLI's `registrations`).
pub fn registration_item(r: &RegistrationRow) -> Value {
    json!({
        "id": r.id, "achievement_id": r.achievement_id, "name": r.name,
        "email": r.email, "locale": r.locale, "created_at": r.created_at,
        "wallet_registered_at": r.wallet_registered_at,
    })
}

fn event(registration_id: &str, at: i64, name: &str, detail: Value) -> EventRow {
    EventRow {
        registration_id: registration_id.to_owned(),
        at,
        event: name.to_owned(),
        detail: detail.to_string(),
    }
}

impl App {
    pub fn branding(&self) -> Branding {
        let settings = self.settings();
        Branding {
            issuer_name: settings.name.clone(),
            logo_url: settings.logo_url.clone(),
            brand_color: settings.brand_color.clone(),
        }
    }

    fn outbox_row(
        &self,
        registration: &RegistrationRow,
        offer_id: Option<&str>,
        kind: &str,
    ) -> OutboxRow {
        let now = self.clock.now();
        OutboxRow {
            // Time-ordered ids (UUIDv7; 74 random bits, not a secret anywhere): a bulk
            // import appends to the ids' b-trees instead of writing a random page a row
            // (issue 18: 57 → 19 KiB of WAL a recipient at 300,000, see the README).
            id: crate::store::time_ordered_id(),
            registration_id: registration.id.clone(),
            offer_id: offer_id.map(str::to_owned),
            kind: kind.to_owned(),
            recipient: registration.email.clone(),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            sent_at: None,
            last_error: None,
            bounced_at: None,
        }
    }

    /// The offer for a registration whose wallet exists, its emails and history entry.
    fn advance(&self, r: &RegistrationRow) -> Advance {
        let recipient = Recipient {
            name: r.name.clone(),
            email: r.email.clone(),
        };
        let offer = self.new_offer(
            &r.achievement_id,
            &recipient,
            r.tx_code != 0,
            r.evidence.clone(),
            r.results.clone(),
            Some(r.id.clone()),
        );
        let mut messages = vec![self.outbox_row(r, Some(&offer.id), "badge")];
        if r.tx_code != 0 {
            messages.push(self.outbox_row(r, Some(&offer.id), "pin"));
        }
        let events = vec![event(
            &r.id,
            self.clock.now(),
            "offered",
            json!({ "offer_id": offer.id, "expires_at": offer.expires_at }),
        )];
        Advance {
            offer,
            messages,
            events,
        }
    }

    /// The rows one new registration writes: the registration, and either its invitation
    /// or (the wallet knows the address) its offer and badge email.
    pub fn registration_insert(
        &self,
        achievement_id: &str,
        r: CheckedRegistration,
        wallet_known: bool,
        source: &str,
    ) -> RegistrationInsert {
        let now = self.clock.now();
        let registration = RegistrationRow {
            // Time-ordered, as the outbox's ids (see `outbox_row`).
            id: crate::store::time_ordered_id(),
            achievement_id: achievement_id.to_owned(),
            email_key: r.recipient.email.to_lowercase(),
            name: r.recipient.name,
            email: r.recipient.email,
            locale: r.locale.to_owned(),
            tx_code: i64::from(r.tx_code),
            evidence: r.evidence,
            results: r.results,
            invitation_expires_at: now + self.settings().invitation_ttl,
            wallet_registered_at: wallet_known.then_some(now),
            invitation_opened_at: None,
            created_at: now,
        };
        let mut events = vec![event(
            &registration.id,
            now,
            "registered",
            json!({ "source": source }),
        )];
        if wallet_known {
            let a = self.advance(&registration);
            events.extend(a.events);
            RegistrationInsert {
                registration,
                offer: Some(a.offer),
                messages: a.messages,
                events,
            }
        } else {
            let messages = vec![self.outbox_row(&registration, None, "invitation")];
            RegistrationInsert {
                registration,
                offer: None,
                messages,
                events,
            }
        }
    }

    /// Registers checked people for `achievement_id` in one transaction (the import calls
    /// this per batch); idempotent per (achievement, address).
    pub async fn register_checked(
        &self,
        achievement_id: &str,
        people: Vec<CheckedRegistration>,
        source: &str,
    ) -> Result<Vec<(String, Registered)>, AppError> {
        let keys: Vec<String> = people
            .iter()
            .map(|p| p.recipient.email.to_lowercase())
            .collect();
        let known = self.store.known_recipients(&keys).await?;
        let inserts: Vec<RegistrationInsert> = people
            .into_iter()
            .map(|p| {
                let known = known.contains(&p.recipient.email.to_lowercase());
                self.registration_insert(achievement_id, p, known, source)
            })
            .collect();
        let inserted = self.store.insert_registrations(&inserts).await?;
        if inserted.iter().any(|&new| new) {
            self.outbox_wake.notify_one();
        }
        Ok(inserts
            .into_iter()
            .zip(inserted)
            .map(|(i, new)| {
                let outcome = match (new, i.offer.is_some()) {
                    (false, _) => Registered::Duplicate,
                    (true, true) => Registered::Offered,
                    (true, false) => Registered::Invited,
                };
                (i.registration.id, outcome)
            })
            .collect())
    }

    /// Registers one person (API and CLI). A duplicate answers with the existing
    /// registration's id.
    pub async fn register(
        &self,
        achievement_id: &str,
        req: &NewRegistration,
        source: &str,
    ) -> Result<(RegistrationView, Registered), AppError> {
        self.achievement_or_400(achievement_id).await?;
        let checked = req.check()?;
        let email_key = checked.recipient.email.to_lowercase();
        let (id, outcome) = self
            .register_checked(achievement_id, vec![checked], source)
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal("registering returned nothing".into()))?;
        let id = match outcome {
            Registered::Duplicate => self
                .store
                .registration_by_key(achievement_id, &email_key)
                .await?
                .map(|r| r.id)
                .ok_or_else(|| AppError::Internal("duplicate registration not found".into()))?,
            _ => id,
        };
        Ok((self.registration_view(&id).await?, outcome))
    }

    /// The wallet says the account for an invitation exists (the invitation is the
    /// bearer credential). Every waiting registration of that address gets its offer and
    /// badge email, once; a repeated callback changes nothing.
    ///
    /// Without a holder binding the address stays unbound; see [`App::wallet_callback_bound`].
    pub async fn wallet_callback(&self, token: &str) -> Result<CallbackOutcome, AppError> {
        self.wallet_callback_bound(token, None).await
    }

    /// [`App::wallet_callback`], with the wallet's holder binding when it sent one.
    /// `holder_binding` ([`HolderBinding`]) proves the holder key of the invited account:
    /// the address is bound to it (the first key bound stays), and the credential endpoint
    /// redeems the address's offers only with proofs of that key, so a forwarded or
    /// injected offer lands in no other wallet. Without one the address stays unbound.
    pub async fn wallet_callback_bound(
        &self,
        token: &str,
        holder_binding: Option<&str>,
    ) -> Result<CallbackOutcome, AppError> {
        let invalid = |m: String| AppError::InvalidToken(m);
        let unverified = Unverified::decode(token).map_err(|e| invalid(e.to_string()))?;
        if unverified.claims.iss != self.issuer_id {
            return Err(invalid(format!(
                "invitation was issued by {}, not by this issuer",
                unverified.claims.iss
            )));
        }
        let claims = unverified
            .verify(&self.es256_verifying, self.clock.now())
            .map_err(|e| invalid(e.to_string()))?;
        let registration = self
            .store
            .registration(&claims.sub)
            .await?
            .ok_or_else(|| invalid("invitation names no registration of this issuer".into()))?;
        if !registration.email.eq_ignore_ascii_case(&claims.email) {
            return Err(invalid(
                "invitation address does not match the registration".into(),
            ));
        }
        let now = self.clock.now();
        let holder_jkt = holder_binding
            .map(|b| {
                HolderBinding::verify(b, &self.issuer_id, &registration.id, now)
                    .map(|jwk| jwk.thumbprint())
                    .map_err(|e| AppError::oauth("invalid_request", e.to_string()))
            })
            .transpose()?;
        let advance = |r: &RegistrationRow| {
            let mut a = self.advance(r);
            a.events.insert(
                0,
                event(
                    &r.id,
                    now,
                    "wallet_registered",
                    json!({ "via_registration": registration.id, "holder_jkt": holder_jkt }),
                ),
            );
            a
        };
        let offered = match self
            .store
            .wallet_registered_bound(
                &registration.email_key,
                holder_jkt.as_deref(),
                now,
                &advance,
            )
            .await?
        {
            Bound::Advanced(offered) => offered,
            Bound::ToAnotherKey(bound) => {
                return Err(AppError::oauth(
                    "invalid_request",
                    format!(
                        "holder_binding: the badges of this address are bound to another wallet's holder key (thumbprint {bound}); they cannot be moved to this one"
                    ),
                ));
            }
        };
        if !offered.is_empty() {
            self.outbox_wake.notify_one();
        }
        Ok(CallbackOutcome {
            registration_id: registration.id,
            offered,
        })
    }

    /// Re-sends: a new offer and badge email when the wallet account exists (an expired or
    /// locked offer is replaced), otherwise a new invitation with a fresh expiry.
    pub async fn resend(&self, id: &str) -> Result<RegistrationView, AppError> {
        self.resend_by(id, None).await
    }

    /// [`App::resend`], by console operator `operator_id` when given: audited
    /// (`registration.offer_resent` or `registration.invitation_resent`) in the resend's
    /// transaction.
    pub async fn resend_by(
        &self,
        id: &str,
        operator_id: Option<&str>,
    ) -> Result<RegistrationView, AppError> {
        let r = self
            .store
            .registration(id)
            .await?
            .ok_or_else(|| AppError::NotFound("registration".into()))?;
        let now = self.clock.now();
        let audit = |action: &str| {
            operator_id.map(|operator| crate::store::AuditEntry {
                at: now,
                action: action.to_owned(),
                subject: r.id.clone(),
                detail: json!({ "via": "console" }).to_string(),
                operator_id: Some(operator.to_owned()),
            })
        };
        if r.wallet_registered_at.is_some() {
            let mut a = self.advance(&r);
            a.events[0].event = "offered_again".into();
            let audit = audit("registration.offer_resent");
            self.store.insert_advance(&a, audit.as_ref()).await?;
        } else {
            let m = self.outbox_row(&r, None, "invitation");
            let e = event(&r.id, now, "invited_again", json!({}));
            let audit = audit("registration.invitation_resent");
            self.store
                .reinvite(
                    &r.id,
                    now + self.settings().invitation_ttl,
                    &m,
                    &e,
                    audit.as_ref(),
                )
                .await?;
        }
        self.outbox_wake.notify_one();
        self.registration_view(id).await
    }

    /// A registration with its state, offers, messages and history.
    pub async fn registration_view(&self, id: &str) -> Result<RegistrationView, AppError> {
        let r = self
            .store
            .registration(id)
            .await?
            .ok_or_else(|| AppError::NotFound("registration".into()))?;
        let now = self.clock.now();
        let offers = self.store.offers_of_registration(id).await?;
        let mut offer_views = Vec::with_capacity(offers.len());
        let mut credential_states = Vec::new();
        let mut history: Vec<(i64, Value)> = self
            .store
            .registration_events(id)
            .await?
            .into_iter()
            .map(|e| {
                let detail = serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null);
                (
                    e.at,
                    json!({ "at": e.at, "event": e.event, "detail": detail }),
                )
            })
            .collect();
        for o in &offers {
            let creds = self.store.credentials_of_offer(&o.id).await?;
            for c in &creds {
                credential_states.push(c.status);
                history.push((
                    c.issued_at,
                    json!({ "at": c.issued_at, "event": "issued",
                            "detail": { "credential_id": c.id, "configuration": c.configuration, "offer_id": o.id } }),
                ));
            }
            offer_views.push(json!({
                "offer_id": o.id,
                "offer_link": self.offer_link(&o.id),
                "expires_at": o.expires_at,
                "redeemed_at": o.redeemed_at,
                "tx_code_failures": o.tx_code_failures,
                "credentials": creds.iter().map(|c| json!({
                    "id": c.id, "configuration": c.configuration,
                    "status": crate::domain::status_name(c.status),
                })).collect::<Vec<_>>(),
            }));
        }
        history.sort_by_key(|(at, _)| *at);
        let latest = offers.first();
        let state = if credential_states.contains(&1) {
            "revoked"
        } else if credential_states.contains(&2) {
            "suspended"
        } else if !credential_states.is_empty() {
            "issued"
        } else if let Some(o) = latest {
            if o.redeemed_at.is_some() {
                "offered"
            } else if o.tx_code_failures >= MAX_TX_CODE_FAILURES {
                "offer_locked"
            } else if o.expires_at <= now {
                "offer_expired"
            } else {
                "offered"
            }
        } else if r.wallet_registered_at.is_some() {
            "wallet_registered"
        } else if r.invitation_expires_at <= now {
            "invitation_expired"
        } else {
            "invited"
        };
        let mut rows = self.store.registration_messages(id).await?;
        // Oldest first; within one second, in the order they are sent.
        let rank = |kind: &str| match kind {
            "invitation" => 0,
            "badge" => 1,
            _ => 2,
        };
        rows.sort_by_key(|m| (m.created_at, m.sent_at.unwrap_or(i64::MAX), rank(&m.kind)));
        let messages = rows
            .into_iter()
            .map(|m| {
                let status = if m.bounced_at.is_some() {
                    "bounced"
                } else if m.sent_at.is_some() {
                    "sent"
                } else if m.next_attempt_at == i64::MAX {
                    "failed"
                } else if m.attempts > 0 {
                    "retrying"
                } else {
                    "pending"
                };
                json!({
                    "id": m.id, "kind": m.kind, "to": m.recipient, "status": status,
                    "attempts": m.attempts, "sent_at": m.sent_at, "last_error": m.last_error,
                    "offer_id": m.offer_id,
                })
            })
            .collect();
        Ok(RegistrationView {
            id: r.id,
            achievement_id: r.achievement_id,
            name: r.name,
            email: r.email,
            locale: r.locale,
            tx_code: r.tx_code != 0,
            state,
            created_at: r.created_at,
            invitation_expires_at: r.invitation_expires_at,
            wallet_registered_at: r.wallet_registered_at,
            invitation_opened_at: r.invitation_opened_at,
            offers: offer_views,
            messages,
            history: history.into_iter().map(|(_, v)| v).collect(),
        })
    }

    /// The message of an outbox row, written now: the invitation is signed when sent, the
    /// PIN derived from the offer, so neither is stored.
    pub async fn outgoing(&self, m: &OutboxRow) -> Result<Outgoing, AppError> {
        let facts = self.letter_facts(std::slice::from_ref(m)).await?;
        self.write_letter(m, &facts)
    }

    /// What the letters of `messages` (one claim of the outbox worker) are written from:
    /// their registrations in one statement, each achievement and the offers once.
    pub async fn letter_facts(&self, messages: &[OutboxRow]) -> Result<LetterFacts, AppError> {
        let distinct = |ids: &mut Vec<&str>| {
            ids.sort_unstable();
            ids.dedup();
        };
        let mut ids: Vec<&str> = messages
            .iter()
            .map(|m| m.registration_id.as_str())
            .collect();
        distinct(&mut ids);
        let registrations: HashMap<String, RegistrationRow> = self
            .store
            .registrations_by_ids(&ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut achievement_ids: Vec<&str> = registrations
            .values()
            .map(|r| r.achievement_id.as_str())
            .collect();
        distinct(&mut achievement_ids);
        let mut achievements = HashMap::with_capacity(achievement_ids.len());
        for id in achievement_ids {
            if let Some(a) = self.store.achievement(id).await? {
                achievements.insert(id.to_owned(), a);
            }
        }
        let mut offer_ids: Vec<&str> = messages
            .iter()
            .filter_map(|m| m.offer_id.as_deref())
            .collect();
        distinct(&mut offer_ids);
        // No statement at all when no message has an offer (invitations).
        let offers = self
            .store
            .offers_by_ids(&offer_ids)
            .await?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        Ok(LetterFacts {
            registrations,
            achievements,
            offers,
        })
    }

    /// The message of an outbox row, written from its claim's [`LetterFacts`].
    pub fn write_letter(
        &self,
        m: &OutboxRow,
        facts_of: &LetterFacts,
    ) -> Result<Outgoing, AppError> {
        let r = facts_of
            .registrations
            .get(&m.registration_id)
            .ok_or_else(|| AppError::Internal(format!("message {}: no registration", m.id)))?;
        let achievement = facts_of
            .achievements
            .get(&r.achievement_id)
            .ok_or_else(|| AppError::Internal(format!("message {}: no achievement", m.id)))?;
        let settings = self.settings();
        let facts = Facts {
            locale: &r.locale,
            issuer_name: settings.name_in(&r.locale),
            // The name in the recipient's language when the achievement has one.
            achievement: crate::domain::achievements::localized(achievement, &r.locale).name,
            recipient_name: &r.name,
            recipient_email: &r.email,
        };
        let offer = match &m.offer_id {
            Some(id) => Some(
                facts_of
                    .offers
                    .get(id)
                    .ok_or_else(|| AppError::Internal(format!("message {}: no offer", m.id)))?,
            ),
            None => None,
        };
        let wallet = self.config.wallet_url.trim_end_matches('/');
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let (letter, links) = match (m.kind.as_str(), &offer) {
            ("invitation", _) => {
                let token = self.invitation(r, achievement).sign(&self.es256, &self.kid);
                // Through the issuer, which notes the first opening and sends the browser
                // on to the wallet's registration page (domain::bounces).
                let url = format!("{}/invitations/open?invitation={token}", self.issuer_id);
                (
                    letters::invitation(&facts, &url, r.invitation_expires_at),
                    vec![url],
                )
            }
            ("badge", Some(o)) => {
                let link = self.offer_link(&o.id);
                let open = format!(
                    "{wallet}/receive?credential_offer_uri={}",
                    enc(&self.offer_uri(&o.id))
                );
                let png = protocol::qr::Qr::new(&link)
                    .map_err(|e| AppError::Internal(format!("offer QR: {e}")))?
                    .png(6);
                (
                    letters::badge(
                        &facts,
                        &open,
                        &link,
                        png,
                        o.tx_code_hash.is_some(),
                        o.expires_at,
                    ),
                    vec![open, link],
                )
            }
            ("pin", Some(o)) => (
                letters::pin(&facts, &self.tx_code(&o.id), MAX_TX_CODE_FAILURES),
                vec![],
            ),
            (kind, _) => {
                return Err(AppError::Internal(format!(
                    "message {}: kind {kind} without what it needs",
                    m.id
                )));
            }
        };
        let (text, html) = letter
            .render(&self.branding())
            .map_err(|e| AppError::Internal(format!("message {}: {e}", m.id)))?;
        let message_id = kit::mail::message_id(&m.id, &self.issuer_id);
        let return_path = crate::domain::bounces::return_path(self, &m.id);
        let head = Head {
            from: &settings.mail_from,
            to_name: Some(&r.name),
            to: &r.email,
            subject: &letter.subject,
            message_id: &message_id,
            return_path: return_path.as_deref(),
        };
        let entry = DirEntry {
            id: m.id.clone(),
            to: r.email.clone(),
            subject: letter.subject.clone(),
            kind: m.kind.clone(),
            sent_at: self.clock.now(),
            links,
        };
        let images = letter.qr.into_iter().collect();
        Outgoing::new(&head, Body { text, html, images }, entry)
            .map_err(|e| AppError::Internal(format!("message {}: {e}", m.id)))
    }

    /// The invitation of a registration, valid until the registration's invitation expiry.
    pub fn invitation(&self, r: &RegistrationRow, achievement: &AchievementRow) -> Invitation {
        Invitation {
            iss: self.issuer_id.clone(),
            sub: r.id.clone(),
            email: r.email.clone(),
            name: r.name.clone(),
            issuer_name: self.settings().name_in(&r.locale).to_owned(),
            achievement: achievement.name.clone(),
            locale: r.locale.clone(),
            callback: format!("{}/invitations/callback", self.issuer_id),
            iat: self.clock.now(),
            exp: r.invitation_expires_at,
        }
    }
}
