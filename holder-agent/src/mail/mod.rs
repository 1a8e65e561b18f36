//! The wallet's account emails ([`letters`]: confirmation, the note to an address that
//! already has a wallet, password reset) on the mailer and the transactional outbox every
//! service shares (`kit::mail`). Each email is written into the `mail_outbox` table in the
//! transaction that makes its link token, tried at once (the request tells the user when
//! that failed), and retried by the outbox worker ([`run`]) with backoff until the mail
//! server takes it. Emails go over SMTP (`WALLET_SMTP_URL`, the issuer's `SMTP_URL`
//! syntax) or, in development, into a local directory.
//!
//! # No usable link at rest
//!
//! The wallet keeps only the SHA-256 of a link token, and so does its outbox: the token of
//! an email is not random but derived, as a MAC of the email's id under the wallet's seal
//! key ([`AccountMail::link_token`]), and the worker derives it again when it writes the
//! email. We chose this over sealing the stored body with the seal key because:
//!
//! - nothing that opens an account is stored, not even encrypted: a copy of the database
//!   (a backup, a dump) without the seal key holds no link, and there is no ciphertext of
//!   a live credential to keep, rotate or purge once sent;
//! - the worker reads the token's row when it writes the email, so a retry whose link was
//!   used, replaced by a newer email, or expired meanwhile is given up instead of mailing a
//!   dead link, and the stated validity is the token's own;
//! - a row stays a small, fixed shape like the issuer's outbox, which derives its PINs the
//!   same way (`SealKey::mac("tx-code", offer_id)`).

pub mod letters;

use std::time::Duration;

use kit::db::Db;
use kit::mail::outbox::Outbox;
use kit::mail::worker::{Letters, Prepared, SendError, Settings};
use kit::mail::{Body, DirEntry, Head, MailError, Mailer, Outgoing};
use protocol::clock::Clock;
use protocol::keys::seal::SealKey;

use crate::store::{MAIL_OUTBOX, MailRow, NewToken, Store, StoreError};
use letters::{Kind, Letter};

/// Emails in delivery at once in the worker.
const CONCURRENCY: usize = 4;
/// Seconds a claim holds: the request's own first try, then each of the worker's.
const LEASE: i64 = 120;
/// How often the worker looks for retries falling due.
const POLL: Duration = Duration::from_secs(1);
/// The MAC label of link tokens.
const LINK_TOKEN: &str = "wallet-link-token";

/// The link token an email carries: what makes it and how long it works.
#[derive(Debug, Clone, Copy)]
pub struct NewLink<'a> {
    pub account_id: &'a str,
    /// `confirm` or `reset`: the account's unused tokens for it are retired.
    pub purpose: &'a str,
    pub ttl: i64,
}

/// Why an email could not be written when it was due.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rendering the email: {0}")]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// Why [`AccountMail::send`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Nothing was queued, or the outbox could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The email is queued but trying it at once failed: the worker retries it.
    #[error(transparent)]
    NotYet(MailError),
    /// The email is queued but its templates failed.
    #[error("rendering the email: {0}")]
    Render(askama::Error),
    /// The email was given up as soon as it was queued.
    #[error("the email was not sent: {0}")]
    Dropped(String),
}

/// The account emails: where they go, and what writing them needs.
#[derive(Clone, Debug)]
pub struct AccountMail {
    pub mailer: Mailer,
    store: Store,
    seal: SealKey,
    clock: Clock,
    /// The wallet's public URL, without a trailing slash: the links' base.
    base: String,
    from: String,
    /// Deliveries counted for the metrics ([`crate::metrics`]).
    pub counters: std::sync::Arc<kit::metrics::OutboxCounters>,
}

impl AccountMail {
    pub fn new(
        mailer: Mailer,
        store: Store,
        seal: SealKey,
        clock: Clock,
        public_url: &str,
        from: &str,
    ) -> AccountMail {
        AccountMail {
            mailer,
            store,
            seal,
            clock,
            base: public_url.trim_end_matches('/').to_owned(),
            from: from.to_owned(),
            counters: Default::default(),
        }
    }

    /// Queues the email `kind` to `email` in `lang` with, when given, a new link token
    /// (in the same transaction), then delivers it at once. When that fails the email
    /// stays queued and the worker retries it: [`PostError::NotYet`].
    pub async fn send(
        &self,
        kind: Kind,
        lang: &str,
        email: &str,
        link: Option<NewLink<'_>>,
        now: i64,
    ) -> Result<(), PostError> {
        let id = uuid::Uuid::new_v4().to_string();
        let token_hash = link.map(|_| protocol::b64::sha256(self.link_token(&id)));
        let row = MailRow {
            id,
            kind: kind.as_str().to_owned(),
            recipient: email.to_owned(),
            lang: if lang == "ja" { "ja" } else { "en" }.to_owned(),
            token_hash,
            created_at: now,
            attempts: 1,
            next_attempt_at: now,
            sent_at: None,
            last_error: None,
        };
        let token = match (link, &row.token_hash) {
            (Some(l), Some(token_hash)) => Some(NewToken {
                token_hash,
                account_id: l.account_id,
                purpose: l.purpose,
                expires_at: now + l.ttl,
            }),
            _ => None,
        };
        let claim = protocol::b64::random(16);
        self.store
            .queue_mail(&row, &claim, now + LEASE, token.as_ref())
            .await?;
        match kit::mail::worker::send_now(self, &self.mailer, &row, &claim).await {
            Ok(()) => Ok(()),
            Err(SendError::Mail(e) | SendError::Write(WriteError::Mail(e))) => {
                Err(PostError::NotYet(e))
            }
            Err(SendError::Write(WriteError::Store(e))) => Err(e.into()),
            Err(SendError::Write(WriteError::Render(e))) => Err(PostError::Render(e)),
            Err(SendError::Dropped(reason)) => Err(PostError::Dropped(reason)),
            // The wallet's rows carry all their letters need (`Batch = ()`), so this does
            // not happen; were it to, the email stays queued for the worker.
            Err(SendError::Batch(detail)) => Err(PostError::NotYet(MailError::Build(detail))),
        }
    }

    /// The link token of the email `id`: a MAC of the id under the seal key, so the
    /// outbox needs to keep only its SHA-256 (see the module documentation).
    pub fn link_token(&self, id: &str) -> String {
        protocol::b64::encode(self.seal.mac(LINK_TOKEN, id.as_bytes()))
    }

    /// The link of a queued email and the hours it works, or why there is nothing to send
    /// any more.
    async fn link(
        &self,
        kind: Kind,
        row: &MailRow,
    ) -> Result<Result<(String, i64), String>, StoreError> {
        let page = format!("{}{}", self.base, kind.page());
        let Some(hash) = &row.token_hash else {
            return Ok(Ok((page, 0)));
        };
        let token = self.link_token(&row.id);
        if protocol::b64::sha256(&token) != *hash {
            return Ok(Err("its link token is not this seal key's".into()));
        }
        let Some(stored) = self.store.account_token(hash).await? else {
            return Ok(Err("its link token is gone".into()));
        };
        if stored.used_at.is_some() {
            return Ok(Err("its link was used or replaced by a newer email".into()));
        }
        if stored.expires_at <= self.clock.now() {
            return Ok(Err("its link expired".into()));
        }
        let hours = (stored.expires_at - row.created_at) / 3600;
        Ok(Ok((format!("{page}?token={token}"), hours)))
    }
}

impl Letters for AccountMail {
    type Row = MailRow;
    type Error = WriteError;
    /// Each row carries its recipient, language and link token.
    type Batch = ();

    fn db(&self) -> &Db {
        &self.store.db
    }

    fn outbox(&self) -> &Outbox<MailRow> {
        &MAIL_OUTBOX
    }

    fn counters(&self) -> Option<&kit::metrics::OutboxCounters> {
        Some(self.counters.as_ref())
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    async fn batch(&self, _: &[MailRow]) -> Result<(), WriteError> {
        Ok(())
    }

    async fn outgoing(&self, row: &MailRow, _: &()) -> Result<Prepared, WriteError> {
        let Some(kind) = Kind::from_name(&row.kind) else {
            return Ok(Prepared::Drop(format!("unknown kind {:?}", row.kind)));
        };
        let (link, hours) = match self.link(kind, row).await? {
            Ok(link) => link,
            Err(reason) => return Ok(Prepared::Drop(reason)),
        };
        let letter = Letter::new(kind, &row.lang, &row.recipient, &link, hours);
        let (text, html) = letter.render()?;
        let message_id = kit::mail::message_id(&row.id, &self.base);
        let head = Head {
            from: &self.from,
            to_name: None,
            to: &row.recipient,
            subject: &letter.subject,
            message_id: &message_id,
            return_path: None,
        };
        let entry = DirEntry {
            id: row.id.clone(),
            to: row.recipient.clone(),
            subject: letter.subject.clone(),
            kind: row.kind.clone(),
            sent_at: self.clock.now(),
            links: vec![link],
        };
        let body = Body {
            text,
            html,
            images: Vec::new(),
        };
        Ok(Prepared::Send(Box::new(Outgoing::new(&head, body, entry)?)))
    }
}

/// The outbox worker: retries the emails whose first try failed, until the task is
/// aborted.
pub async fn run(mail: AccountMail) {
    let settings = Settings {
        concurrency: CONCURRENCY,
        lease: LEASE,
        poll: POLL,
    };
    let mailer = mail.mailer.clone();
    kit::mail::worker::run(mail, mailer, settings).await;
}

#[cfg(test)]
mod tests {
    use kit::mail::outbox::NEVER;
    use kit::mail::worker::drain;

    use super::*;
    use crate::store::AccountRow;

    const SETTINGS: Settings = Settings {
        concurrency: 2,
        lease: LEASE,
        poll: POLL,
    };

    /// The account emails of a wallet on SQLite in `dir` (or a fresh schema of
    /// `TEST_DATABASE_URL`), with one account, mailing to a relay that is down.
    async fn wallet(dir: &std::path::Path) -> AccountMail {
        let store = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let schema = format!("t{}_wallet_mail", uuid::Uuid::new_v4().simple());
                Store::connect(&url, Some(&schema)).await.unwrap()
            }
            _ => Store::connect(&format!("sqlite://{}/wallet.db", dir.display()), None)
                .await
                .unwrap(),
        };
        store
            .insert_account(&AccountRow {
                id: "acct".into(),
                name: "ana@example.org".into(),
                holder_key: vec![0],
                api_token_hash: None,
                created_at: 1,
            })
            .await
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let down = Mailer::new(
            "WALLET_SMTP_URL",
            Some(&format!("smtp://127.0.0.1:{port}")),
            dir.join("unused"),
            1,
        )
        .unwrap();
        AccountMail::new(
            down,
            store,
            SealKey::generate(),
            Clock::adjustable(),
            "https://wallet.example/",
            "Akashi Wallet <wallet@wallet.example>",
        )
    }

    /// The same wallet, its mail server back: a directory.
    fn back_up(mail: &AccountMail, dir: &std::path::Path) -> AccountMail {
        AccountMail {
            mailer: Mailer::new("WALLET_SMTP_URL", None, dir.join("mailbox"), 1).unwrap(),
            ..mail.clone()
        }
    }

    fn link(purpose: &str) -> Option<NewLink<'_>> {
        Some(NewLink {
            account_id: "acct",
            purpose,
            ttl: 3600,
        })
    }

    /// The link of the email `id` written to the directory.
    fn written_link(dir: &std::path::Path, id: &str) -> String {
        let entry = std::fs::read(dir.join(format!("mailbox/{id}.json"))).unwrap();
        let entry: DirEntry = serde_json::from_slice(&entry).unwrap();
        entry.links[0].clone()
    }

    #[test]
    fn link_tokens_are_macs_of_the_id_under_the_seal_key() {
        let seal = SealKey::generate();
        let token = protocol::b64::encode(seal.mac(LINK_TOKEN, b"id-1"));
        assert_eq!(token.len(), 43);
        assert_ne!(token, protocol::b64::encode(seal.mac(LINK_TOKEN, b"id-2")));
        assert_ne!(
            token,
            protocol::b64::encode(SealKey::generate().mac(LINK_TOKEN, b"id-1"))
        );
    }

    #[tokio::test]
    async fn an_email_the_server_refused_stays_queued_and_the_worker_sends_it_later() {
        let dir = tempfile::tempdir().unwrap();
        let mail = wallet(dir.path()).await;
        let now = mail.clock.now();
        let err = mail
            .send(Kind::Confirm, "ja", "ana@example.org", link("confirm"), now)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PostError::NotYet(MailError::Smtp(_))),
            "{err}"
        );

        let queued = mail.store.mails_to("ana@example.org").await.unwrap();
        assert_eq!(queued.len(), 1);
        let row = &queued[0];
        assert_eq!((row.attempts, row.sent_at), (1, None));
        // Thirty seconds after the attempt (the clock is the system's: it may have ticked).
        assert!(
            (now + 30..=now + 32).contains(&row.next_attempt_at),
            "{} vs {now}",
            row.next_attempt_at
        );
        assert!(row.last_error.as_deref().unwrap().starts_with("SMTP: "));
        // The link's token is made with the email and kept only as its SHA-256.
        let token_hash = row.token_hash.clone().unwrap();
        let token = mail
            .store
            .account_token(&token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((token.purpose.as_str(), token.used_at), ("confirm", None));

        // Not due yet; then the worker sends it, with the link the token's hash names.
        let up = back_up(&mail, dir.path());
        assert_eq!(drain(&up, &up.mailer, &SETTINGS).await.unwrap(), 0);
        mail.clock.advance(30);
        assert_eq!(drain(&up, &up.mailer, &SETTINGS).await.unwrap(), 1);
        let sent = &mail.store.mails_to("ana@example.org").await.unwrap()[0];
        assert_eq!(sent.attempts, 2);
        assert!(
            sent.sent_at
                .is_some_and(|at| (now + 30..=now + 33).contains(&at)),
            "{:?} vs {now}",
            sent.sent_at
        );
        let link = written_link(dir.path(), &row.id);
        let sent_token = link
            .strip_prefix("https://wallet.example/confirm?token=")
            .unwrap();
        assert_eq!(protocol::b64::sha256(sent_token), token_hash);
        let eml =
            std::fs::read_to_string(dir.path().join(format!("mailbox/{}.eml", row.id))).unwrap();
        assert!(
            eml.contains(&format!("Message-ID: <{}@wallet.example>", row.id)),
            "{eml}"
        );
    }

    #[tokio::test]
    async fn a_retry_whose_link_was_replaced_or_expired_is_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let mail = wallet(dir.path()).await;
        let now = mail.clock.now();
        for _ in 0..2 {
            let e = mail
                .send(Kind::Reset, "en", "ana@example.org", link("reset"), now)
                .await;
            assert!(matches!(e, Err(PostError::NotYet(_))));
        }
        // The note without a link is sent as it is.
        assert!(matches!(
            mail.send(Kind::AlreadyRegistered, "en", "ana@example.org", None, now)
                .await,
            Err(PostError::NotYet(_))
        ));
        let up = back_up(&mail, dir.path());
        mail.clock.advance(30);
        assert_eq!(drain(&up, &up.mailer, &SETTINGS).await.unwrap(), 3);
        let rows = mail.store.mails_to("ana@example.org").await.unwrap();
        let (sent, dropped): (Vec<&MailRow>, Vec<&MailRow>) = rows
            .iter()
            .filter(|r| r.kind == "reset")
            .partition(|r| r.sent_at.is_some());
        assert_eq!((sent.len(), dropped.len()), (1, 1), "{rows:?}");
        let (first, second) = (dropped[0], sent[0]);
        let note = rows
            .iter()
            .find(|r| r.kind == "already_registered")
            .unwrap();
        assert_eq!(first.next_attempt_at, NEVER);
        assert!(
            first.last_error.as_deref().unwrap().contains("replaced"),
            "{first:?}"
        );
        assert_eq!(
            written_link(dir.path(), &note.id),
            "https://wallet.example/forgot"
        );
        assert!(note.sent_at.is_some());

        // A reset link works for an hour: a retry after that is given up, not sent.
        let e = mail
            .send(
                Kind::Reset,
                "en",
                "ana@example.org",
                link("reset"),
                now + 30,
            )
            .await;
        assert!(matches!(e, Err(PostError::NotYet(_))));
        mail.clock.advance(3600);
        assert_eq!(drain(&up, &up.mailer, &SETTINGS).await.unwrap(), 1);
        let rows = mail.store.mails_to("ana@example.org").await.unwrap();
        let expired = rows
            .iter()
            .find(|r| r.kind == "reset" && r.id != first.id && r.id != second.id)
            .unwrap();
        assert_eq!(
            expired.last_error.as_deref(),
            Some("not sent: its link expired")
        );
        mail.store.db.close().await;
    }
}
