//! Delivering stored mails: SMTP (lettre) when `mail.smtp_url` is set, `.eml` files otherwise.

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::ExposeSecret as _;

use super::Mail;
use crate::config::MailSettings;

/// A mail transport.
pub enum Sender {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A directory of `.eml` files.
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Sender {
    /// The transport the settings describe.
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        match &settings.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("mail.smtp_url is not a valid SMTP URL (smtp://host:port or smtps://…): {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build();
                Ok(Self::Smtp(transport))
            }
            None => {
                std::fs::create_dir_all(&settings.dir).map_err(|e| anyhow::anyhow!("cannot create the mail directory {}: {e}", settings.dir))?;
                Ok(Self::Files(AsyncFileTransport::new(&settings.dir)))
            }
        }
    }

    /// Sends one mail.
    pub async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let from: Mailbox = mail.sender.parse().map_err(|e| anyhow::anyhow!("invalid sender `{}`: {e}", mail.sender))?;
        let to: Mailbox = mail.recipient.parse().map_err(|e| anyhow::anyhow!("invalid recipient `{}`: {e}", mail.recipient))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(&mail.subject)
            .message_id(Some(format!("<{}@socle>", mail.id)))
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))?;
        match self {
            Self::Smtp(transport) => transport.send(message).await.map(drop).map_err(|e| anyhow::anyhow!("SMTP delivery failed: {e}")),
            Self::Files(transport) => transport.send(message).await.map(drop).map_err(|e| anyhow::anyhow!("writing the mail file failed: {e}")),
        }
    }
}
