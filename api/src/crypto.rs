//! Secrets at rest. Whatever the service must be able to read back (token signing keys, webhook
//! secrets, stored idempotent answers) is sealed with XChaCha20-Poly1305 under the key-encryption key
//! (`IPS_KEY_ENCRYPTION_KEY` or `IPS_KEY_ENCRYPTION_KEY_FILE`), which never enters the database. A
//! copy or backup of the database alone can then neither mint tokens nor read those secrets.
//!
//! Each sealed value is bound to what it is and to its row (the associated data is
//! `ips-ung/<purpose>/<id>`), so a value copied into another row or column does not open.
use std::{fmt, sync::Arc};

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    AeadCore, KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, OsRng, Payload},
};

/// The prefix of a sealed value, naming the format.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// What a sealed value is; part of the associated data.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    SigningKey,
    IdempotentAnswer,
    WebhookSecret,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SigningKey => "signing-key",
            Purpose::IdempotentAnswer => "idempotent-answer",
            Purpose::WebhookSecret => "webhook-secret",
        }
    }
}

/// A value could not be opened: another key sealed it, or it was changed or moved.
#[derive(Debug, thiserror::Error)]
#[error(
    "a sealed value could not be opened with the key-encryption key (a wrong key, or changed data)"
)]
pub struct OpenError;

/// The key-encryption key.
#[derive(Clone)]
pub struct Kek(Arc<XChaCha20Poly1305>);

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(…)")
    }
}

impl Kek {
    /// Parses 32 random bytes written as base64 (standard or URL-safe, padding optional).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| "the key-encryption key must be 32 random bytes in base64".to_string())?;
        if bytes.len() != 32 {
            return Err(format!(
                "the key-encryption key must be 32 bytes; this one has {}",
                bytes.len()
            ));
        }
        Ok(Self(Arc::new(
            XChaCha20Poly1305::new_from_slice(&bytes).expect("32-byte key"),
        )))
    }

    /// A new random key and its base64 text (for demo data and tests, and `keys generate-kek`).
    pub fn generate() -> (Self, String) {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let text = STANDARD.encode(key);
        (Self(Arc::new(XChaCha20Poly1305::new(&key))), text)
    }

    /// Seals `plaintext` for the row `id` of `purpose`.
    pub fn seal(&self, purpose: Purpose, id: &str, plaintext: &[u8]) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(purpose, id);
        let sealed = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory buffers");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a value sealed by `seal` with the same purpose and id.
    pub fn open(&self, purpose: Purpose, id: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError)?;
        let aad = associated_data(purpose, id);
        self.0
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }
}

/// True for a value in the sealed format (older databases may still hold values in clear).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

fn associated_data(purpose: Purpose, id: &str) -> String {
    format!("ips-ung/{}/{id}", purpose.as_str())
}
