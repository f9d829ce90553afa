//! The mailer: e-mails the notifications due to be sent, through the SMTP relay
//! the deployment names (`--smtp-url`), in the background of the server.
//!
//! A notification is written with the change it tells of; the mailer finds it
//! due, leases it (so two servers never send one twice at once), sends it, and
//! records it sent, to be retried (a temporary failure: after 1, 2, 4 … minutes,
//! at most an hour apart) or failed (a permanent refusal, or the eighth try).
//! News older than a week is not sent. A server stopped between sending and
//! recording sends that one again when it is back: at least once, never lost.
//!
//! The e-mail names no person and quotes nothing from the case: one sentence of
//! what happened, and a link to sign in and read it.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use syndemic_hub::notify::Audience;
use syndemic_store::hub::{MailJob, MailOutcome};

use crate::{AppState, WebError};

/// How many tries an e-mail gets.
pub const MAIL_TRIES: i64 = 8;
/// News older than this is not e-mailed.
pub const MAIL_WITHIN_SECONDS: i64 = 7 * 24 * 3600;
/// How long a lease on an e-mail lasts: longer than a send may take.
const LEASE_SECONDS: i64 = 120;
/// How many e-mails one round sends at most.
const BATCH: i64 = 50;

/// Where and how notifications are e-mailed.
#[derive(Clone)]
pub struct Mail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// How long the mailer waits between rounds.
    every: Duration,
    /// The first retry's delay; each later one doubles it.
    retry_after: Duration,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the relay's password: never printed.
        f.debug_struct("Mail").field("from", &self.from).finish()
    }
}

impl Mail {
    /// A relay by its URL — `smtp://host:25` (plain), `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://user:password@host:465` (TLS) — and the sender's
    /// address, e.g. `Hartmoor referral hub <hub@hartmoor.gov.uk>`.
    pub fn new(smtp_url: &str, from: &str) -> Result<Mail, WebError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| {
                WebError::BadRequest(format!(
                    "the SMTP URL is not one to send by ({e}): write smtp://host:port, smtp://host:587?tls=required or smtps://user:password@host:465"
                ))
            })?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| {
            WebError::BadRequest(format!(
                "the sender's address `{from}` is not an e-mail address ({e}): write e.g. hub@example.gov.uk"
            ))
        })?;
        Ok(Mail {
            transport,
            from,
            every: Duration::from_secs(10),
            retry_after: Duration::from_secs(60),
        })
    }

    /// The same, with the wait between rounds and before the first retry.
    pub fn with_timing(mut self, every: Duration, retry_after: Duration) -> Mail {
        self.every = every;
        self.retry_after = retry_after;
        self
    }

    /// When the next try of one tried `attempts` times before comes.
    fn retry_at(&self, now: i64, attempts: i64) -> i64 {
        let base = self.retry_after.as_secs().max(1) as i64;
        now + (base << attempts.clamp(0, 12)).min(3600)
    }
}

/// Whether `text` is an address to send to.
pub(crate) fn is_address(text: &str) -> bool {
    text.parse::<lettre::Address>().is_ok()
}

/// The e-mail of one notification: what happened, and where to read it.
fn message(mail: &Mail, job: &MailJob, base_url: &str, place: &str) -> Result<Message, String> {
    let to = job
        .to
        .parse::<Mailbox>()
        .map_err(|e| format!("the address is not one to send to: {e}"))?;
    let what = match job.audience {
        Audience::Referrer => "referrals you make",
        Audience::Caseworker => "cases assigned to you",
    };
    let body = format!(
        "{sentence}\n\nSign in to read it:\n{base_url}/notifications/{id}\n\n\
         You are sent this because your account asks for e-mails about {what}. \
         To change that, see {base_url}/account.\n\
         This e-mail holds no personal details: they stay in {place}'s referral hub.\n",
        sentence = job.topic.sentence(job.audience),
        id = job.id,
    );
    Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject(format!(
            "{place} referral hub: {}",
            job.topic.sentence(job.audience)
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| format!("the e-mail could not be made: {e}"))
}

/// Sends what is due once; how many were sent.
pub(crate) async fn send_due(state: &AppState, mail: &Mail) -> Result<usize, WebError> {
    let now = super::now();
    let jobs = state
        .db
        .claim_mail(now, now + LEASE_SECONDS, now - MAIL_WITHIN_SECONDS, BATCH)
        .await?;
    let base_url = state.security.public_url.as_deref().unwrap_or("");
    let mut sent = 0;
    for job in jobs {
        let outcome = match message(mail, &job, base_url, &state.place) {
            Err(error) => MailOutcome::Failed { error },
            Ok(m) => match mail.transport.send(m).await {
                Ok(_) => {
                    sent += 1;
                    MailOutcome::Sent
                }
                Err(e) if e.is_permanent() || job.attempts + 1 >= MAIL_TRIES => {
                    MailOutcome::Failed {
                        error: e.to_string(),
                    }
                }
                Err(e) => MailOutcome::Retry {
                    next_at: mail.retry_at(super::now(), job.attempts),
                    error: e.to_string(),
                },
            },
        };
        if let MailOutcome::Failed { error } | MailOutcome::Retry { error, .. } = &outcome {
            tracing::warn!(notification = %job.id, attempts = job.attempts + 1, %error, "an e-mail was not sent");
        }
        state.db.mail_done(&job.id, super::now(), &outcome).await?;
    }
    Ok(sent)
}

/// The mailer's loop: a round, then a wait, for as long as the server runs.
pub(crate) async fn run(state: AppState, mail: Arc<Mail>) {
    loop {
        if let Err(e) = send_due(&state, &mail).await {
            tracing::warn!(error = %e, "the mailer could not read its queue");
        }
        tokio::time::sleep(mail.every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_and_a_sender_are_checked_when_configured() {
        assert!(Mail::new("smtp://127.0.0.1:2525", "hub@example.gov.uk").is_ok());
        assert!(Mail::new(
            "smtps://user:pw@mail.example.gov.uk:465",
            "Hub <hub@example.gov.uk>"
        )
        .is_ok());
        let bad = Mail::new("http://example.org", "hub@example.gov.uk").unwrap_err();
        assert!(bad.to_string().contains("smtp://host:port"), "{bad}");
        let bad = Mail::new("smtp://127.0.0.1:2525", "not an address").unwrap_err();
        assert!(bad.to_string().contains("not an e-mail address"), "{bad}");
        let m = Mail::new("smtp://u:secret@127.0.0.1:2525", "hub@example.gov.uk").unwrap();
        assert!(!format!("{m:?}").contains("secret"));
    }

    #[test]
    fn retries_back_off_to_at_most_an_hour() {
        let m = Mail::new("smtp://127.0.0.1:2525", "hub@example.gov.uk").unwrap();
        assert_eq!(m.retry_at(1000, 0), 1060);
        assert_eq!(m.retry_at(1000, 1), 1120);
        assert_eq!(m.retry_at(1000, 5), 1000 + 1920);
        assert_eq!(m.retry_at(1000, 7), 1000 + 3600);
        assert_eq!(m.retry_at(1000, 60), 1000 + 3600);
        assert!(is_address("a.b@example.gov.uk"));
        assert!(!is_address("a.b@"));
        assert!(!is_address("Bob <b@example.org>\r\nBcc: x@y.z"));
    }
}
