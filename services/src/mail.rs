//! Sending e-mail. With `SMTP_URL` it goes through SMTP; without, each message is written as
//! an `.eml` file to the mailbox folder (`DATA_DIR/mailbox`), where a developer (or a test)
//! reads it. Later stages route notification mail through the outbox; this is the transport.

use std::path::PathBuf;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

fn recipient(address: &str) -> anyhow::Result<Mailbox> {
    address
        .parse()
        .map_err(|e| anyhow::anyhow!("bad recipient: {e}"))
}

/// One message to one person.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Mailbox(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    /// Mail to SMTP if a URL is given (`smtp://user:pass@host:587`, `smtps://…`), else to
    /// files in `mailbox`.
    pub fn new(smtp_url: Option<&str>, mailbox: PathBuf, from: &str) -> anyhow::Result<Mailer> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("TTS_MAIL_FROM '{from}' is not valid: {e}"))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not valid: {e}"))?
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&mailbox)?;
                Transport::Mailbox(AsyncFileTransport::new(mailbox))
            }
        };
        Ok(Mailer { from, transport })
    }

    #[tracing::instrument(skip_all, fields(subject = %mail.subject))]
    pub async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(recipient(&mail.to)?)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())?;
        self.deliver(message).await
    }

    /// Sends a message with a plain-text and an HTML version (mail programs pick one).
    #[tracing::instrument(skip_all, fields(subject = %mail.subject))]
    pub async fn send_with_html(&self, mail: &Mail, html: &str) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(recipient(&mail.to)?)
            .subject(&mail.subject)
            .multipart(lettre::message::MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.to_owned(),
            ))?;
        self.deliver(message).await
    }

    async fn deliver(&self, message: Message) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Mailbox(files) => {
                files.send(message).await?;
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
        }
        Ok(())
    }

    /// Sends without making the caller wait or fail: a sign-in must not fail because the mail
    /// server is slow. Failures are logged. (The outbox of a later stage adds retries.)
    pub fn send_in_background(&self, mail: Mail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            if let Err(err) = mailer.send(&mail).await {
                tracing::warn!(error = format!("{err:#}"), "could not send e-mail");
            }
        });
    }
}
