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

/// lettre reads the TLS mode from the URL but trusts only the public roots; with a root of our
/// own, the same mode is set again with that root added.
fn smtp_transport(
    url: &str,
    extra_root_pem: Option<&[u8]>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| anyhow::anyhow!("SMTP_URL is not valid: {e}"))?;
    let Some(pem) = extra_root_pem else {
        return Ok(builder.build());
    };
    let parsed =
        reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("SMTP_URL is not valid: {e}"))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let certificate = Certificate::from_pem(pem)
        .map_err(|e| anyhow::anyhow!("TTS_SMTP_CA_FILE is not a PEM certificate: {e}"))?;
    let parameters = TlsParameters::builder(host)
        .add_root_certificate(certificate)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot set up TLS for SMTP: {e}"))?;
    let mode = parsed
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let tls = match (parsed.scheme(), mode.as_deref()) {
        ("smtps", _) => Tls::Wrapper(parameters),
        (_, Some("required")) => Tls::Required(parameters),
        (_, Some("opportunistic")) => Tls::Opportunistic(parameters),
        _ => Tls::None,
    };
    Ok(builder.tls(tls).build())
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
    /// Mail to SMTP if a URL is given, else to files in `mailbox`. The URL says how to secure
    /// the connection (lettre's forms): `smtps://host:465` is TLS from the start,
    /// `smtp://host:587?tls=required` upgrades with STARTTLS (and refuses a server that cannot),
    /// `smtp://host:25?tls=opportunistic` upgrades if offered, `smtp://host:25` is plain.
    /// Certificates are checked against the public roots, plus `extra_root_pem` (a PEM
    /// certificate, `TTS_SMTP_CA_FILE`) for a relay with a private CA.
    pub fn new(
        smtp_url: Option<&str>,
        extra_root_pem: Option<&[u8]>,
        mailbox: PathBuf,
        from: &str,
    ) -> anyhow::Result<Mailer> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("TTS_MAIL_FROM '{from}' is not valid: {e}"))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(smtp_transport(url, extra_root_pem)?),
            None => {
                std::fs::create_dir_all(&mailbox)?;
                Transport::Mailbox(AsyncFileTransport::new(mailbox))
            }
        };
        Ok(Mailer { from, transport })
    }

    // No field of the mail in the span: a sign-in code's subject carries the code, and a span's
    // fields go into every log line written inside it.
    #[tracing::instrument(skip_all)]
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
    #[tracing::instrument(skip_all)]
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
