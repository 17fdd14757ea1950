//! E-mail over SMTP (`PHONEHUB_SMTP_URL`, `PHONEHUB_MAIL_FROM`): alerts and other mails are
//! written to an outbox first and sent from it by the money worker, so a mail server that is
//! down delays mail without losing it.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

// The URL may carry the SMTP password: it is never printed.
impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer(from {})", self.from)
    }
}

impl Mailer {
    /// `url`: `smtp://host:port` (plain, a local mail catcher), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://host:port` (TLS), with `user:password@` if the server asks; `from`:
    /// the sender, `PhoneHub <alerts@example.com>`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("PHONEHUB_SMTP_URL is not a usable SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("PHONEHUB_MAIL_FROM is not an e-mail address: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends one plain-text mail.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| format!("not an e-mail address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
