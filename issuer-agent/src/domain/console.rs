//! What the console's pages show and change, over the same storage and operations as the
//! admin API and the command line: registrations a page at a time with each person's
//! status, the counts per status and per achievement, the CSV export of the registrations
//! a filter selects, and a badge's status set by an operator (audited with the operator).

use crate::App;
use crate::domain::operators::Operator;
use crate::domain::registrations::RegistrationView;
use crate::error::AppError;
use crate::store::{REGISTRATION_STATUSES, RegistrationListRow, RegistrationQuery};

/// Rows per page of the registrations page, unless asked otherwise.
pub const PAGE_SIZE: i64 = 50;
/// Most rows a page may ask for.
pub const MAX_PAGE_SIZE: i64 = 200;
/// Longest search term taken.
const MAX_SEARCH: usize = 200;
/// Rows read at a time by an export.
pub const EXPORT_BATCH: i64 = 1_000;

/// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. A cell
/// a spreadsheet would take for a formula (its first character `=`, `+`, `-`, `@`, a tab or
/// a carriage return) gets a `'` first, so Excel and LibreOffice show it as text (OWASP
/// "CSV injection").
pub fn csv_cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// One CSV line of `cells`, ended by CRLF.
pub fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = cells
        .into_iter()
        .map(csv_cell)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The position after which a page starts: the last row's `(created_at, id)`, written
/// `<created_at>~<id>` in the page's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        let (at, id) = s.split_once('~')?;
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid_id
            .then(|| at.parse::<i64>().ok())
            .flatten()
            .map(|created_at| Cursor {
                created_at,
                id: id.to_owned(),
            })
    }

    pub fn encode(&self) -> String {
        format!("{}~{}", self.created_at, self.id)
    }
}

/// What the registrations page asks for.
#[derive(Debug, Clone, Default)]
pub struct RegistrationFilter {
    pub status: Option<String>,
    pub search: Option<String>,
    pub after: Option<Cursor>,
    pub limit: Option<i64>,
}

/// One page of registrations.
#[derive(Debug, Clone)]
pub struct RegistrationPage {
    pub rows: Vec<RegistrationListRow>,
    /// Where the next page starts; none on the last page.
    pub next: Option<Cursor>,
}

/// One line of a person's history: when, what (a registration event such as
/// `invitation_email_sent`, `issued`, or an audited action such as `credential.revoked`),
/// and the operator who did it, when an operator did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonEvent {
    pub at: i64,
    pub event: String,
    pub operator: Option<String>,
}

/// What the person page shows.
#[derive(Debug)]
pub struct Person {
    pub registration: RegistrationView,
    /// One of [`REGISTRATION_STATUSES`].
    pub status: String,
    /// Oldest first.
    pub history: Vec<PersonEvent>,
    /// What "resend" would send: an offer once the person has a wallet, else an
    /// invitation; none once the badge was received.
    pub resend: Option<Resend>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    Invitation,
    Offer,
}

/// The counts of the console's home page and the top of the registrations page.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Per status, in [`REGISTRATION_STATUSES`] order, zeros included.
    pub by_status: Vec<(&'static str, i64)>,
    pub total: i64,
    /// Per achievement: id, name, retired, registrations.
    pub achievements: Vec<(String, String, bool, i64)>,
}

impl App {
    /// A page of registrations, newest first, filtered by status and search.
    pub async fn registration_page(
        &self,
        filter: &RegistrationFilter,
    ) -> Result<RegistrationPage, AppError> {
        let limit = filter.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        self.registrations_after(filter, limit).await
    }

    /// The next [`EXPORT_BATCH`] rows of an export of what `filter` selects (its `limit`
    /// is not used): a CSV export reads the same pages, larger, until `next` is none.
    pub async fn export_batch(
        &self,
        filter: &RegistrationFilter,
    ) -> Result<RegistrationPage, AppError> {
        self.registrations_after(filter, EXPORT_BATCH).await
    }

    async fn registrations_after(
        &self,
        filter: &RegistrationFilter,
        limit: i64,
    ) -> Result<RegistrationPage, AppError> {
        if let Some(s) = &filter.status
            && !REGISTRATION_STATUSES.contains(&s.as_str())
        {
            return Err(AppError::bad_request(
                "status",
                "is not a registration status",
            ));
        }
        if filter
            .search
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_SEARCH)
        {
            return Err(AppError::bad_request(
                "q",
                format!("is longer than {MAX_SEARCH} characters"),
            ));
        }
        let mut rows = self
            .store
            .registration_page(&RegistrationQuery {
                status: filter.status.clone(),
                search: filter.search.clone(),
                before: filter.after.as_ref().map(|c| (c.created_at, c.id.clone())),
                limit: limit + 1,
            })
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = more.then(|| rows.last()).flatten().map(|r| Cursor {
            created_at: r.created_at,
            id: r.id.clone(),
        });
        Ok(RegistrationPage { rows, next })
    }

    /// The counts per status and per achievement.
    pub async fn overview(&self) -> Result<Overview, AppError> {
        let counts = self.store.registration_status_counts().await?;
        let by_status: Vec<(&'static str, i64)> = REGISTRATION_STATUSES
            .iter()
            .map(|s| {
                let n = counts
                    .iter()
                    .find(|(name, _)| name == s)
                    .map_or(0, |(_, n)| *n);
                (*s, n)
            })
            .collect();
        Ok(Overview {
            total: by_status.iter().map(|(_, n)| n).sum(),
            by_status,
            achievements: self.store.achievement_registration_counts().await?,
        })
    }

    /// A person: the registration with its offers and emails, its console status, and its
    /// history (its events, its credentials issued, and the audited changes made to it or
    /// to its credentials, with the operator who made each).
    pub async fn person(&self, id: &str) -> Result<Person, AppError> {
        let registration = self.registration_view(id).await?;
        let status = self
            .store
            .registration_status(id)
            .await?
            .ok_or_else(|| AppError::NotFound("registration".into()))?;
        let mut history: Vec<PersonEvent> = registration
            .history
            .iter()
            .filter_map(|h| {
                Some(PersonEvent {
                    at: h["at"].as_i64()?,
                    event: h["event"].as_str()?.to_owned(),
                    operator: None,
                })
            })
            .collect();
        let mut subjects = vec![registration.id.clone()];
        for offer in &registration.offers {
            for c in offer["credentials"].as_array().into_iter().flatten() {
                if let Some(id) = c["id"].as_str() {
                    subjects.push(id.to_owned());
                }
            }
        }
        history.extend(
            self.store
                .audit_of_subjects(&subjects)
                .await?
                .into_iter()
                .filter(|(_, action, _)| action != "credential.issued")
                .map(|(at, event, operator)| PersonEvent {
                    at,
                    event,
                    operator,
                }),
        );
        history.sort_by_key(|e| e.at);
        let resend = match status.as_str() {
            "revoked" | "suspended" | "badge_received" => None,
            _ if registration.wallet_registered_at.is_some() => Some(Resend::Offer),
            _ => Some(Resend::Invitation),
        };
        Ok(Person {
            registration,
            status,
            history,
            resend,
        })
    }

    /// Resends a person's invitation or offer ([`App::resend`], as the admin API does), by
    /// `operator`, audited in the same transaction. Refused once the badge was received.
    pub async fn console_resend(&self, id: &str, operator: &Operator) -> Result<Resend, AppError> {
        let person = self.person(id).await?;
        if person.resend.is_none() {
            return Err(AppError::bad_request(
                "resend",
                "this person has already received the badge",
            ));
        }
        let view = self.resend_by(id, Some(&operator.id)).await?;
        // What was sent: decided again in the resend, from the registration as it was then.
        Ok(if view.wallet_registered_at.is_some() {
            Resend::Offer
        } else {
            Resend::Invitation
        })
    }

    /// Revokes, suspends or restores (`valid`) the badge of a registration, in every form
    /// it was issued in, by `operator`, audited. Returns the credentials changed.
    pub async fn set_registration_status(
        &self,
        registration_id: &str,
        status: &str,
        operator: &Operator,
    ) -> Result<Vec<String>, AppError> {
        if self.store.registration(registration_id).await?.is_none() {
            return Err(AppError::NotFound("registration".into()));
        }
        let issued = self
            .store
            .issued_offers_of_registration(registration_id)
            .await?;
        if issued.is_empty() {
            return Err(AppError::bad_request(
                "status",
                "this person has not received a badge yet",
            ));
        }
        let mut changed = Vec::new();
        for (_, credential_id) in issued {
            changed.extend(
                self.set_status_as(&credential_id, status, "console", Some(&operator.id))
                    .await?,
            );
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(csv_cell("山田 花子"), "山田 花子");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        for (hostile, safe) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "\"'=HYPERLINK(\"\"http://evil\"\")\"",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "\"'\r=1\""),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ] {
            assert_eq!(csv_cell(hostile), safe, "{hostile:?}");
        }
        // Only the first character counts.
        assert_eq!(csv_cell("a=b"), "a=b");
        assert_eq!(csv_line(["a", "=b", "c,d"]), "a,'=b,\"c,d\"\r\n");
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = Cursor {
            created_at: 1_700_000_000,
            id: "0b9c-42".into(),
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in [
            "",
            "~",
            "12",
            "x~abc",
            "12~",
            "12~a'b",
            "12~a b",
            &format!("1~{}", "a".repeat(65)),
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            Cursor::parse("-5~a").map(|c| c.created_at),
            Some(-5),
            "a number, even an odd one, is only a position"
        );
    }
}
