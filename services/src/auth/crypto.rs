//! Small cryptographic helpers: hashes of high-entropy secrets, random tokens, and the sealed
//! box that keeps TOTP secrets encrypted at rest.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// SHA-256 in hex. Used only for secrets with enough entropy that a fast hash is safe (API
/// keys, reset tokens, recovery and one-time codes, which are also short-lived or
/// rate-limited); passwords use Argon2id.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether two secrets are equal, in a time that depends on their length only (not on where
/// they first differ).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `bytes` random bytes, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    B64.encode(buffer)
}

pub fn random_bytes(bytes: usize) -> Vec<u8> {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer
}

/// `n` random decimal digits.
pub fn random_digits(n: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// Encrypts small secrets (XChaCha20-Poly1305) with a key derived from the installation's
/// encryption key, so a copy of the database alone does not give away TOTP seeds.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    pub fn new(master_key: &[u8]) -> Self {
        let mut key = [0u8; 32];
        // HKDF cannot fail for a 32-byte output.
        let _ = hkdf::Hkdf::<Sha256>::new(Some(b"tts"), master_key)
            .expand(b"tts secret box v1", &mut key);
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    pub fn seal(&self, plaintext: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend(ciphertext);
        Ok(B64.encode(sealed))
    }

    /// The plaintext, or `None` if the value was not sealed with this key or was altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        let plaintext = self.cipher.decrypt(&XNonce::from(nonce), ciphertext).ok()?;
        String::from_utf8(plaintext).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let sealed = SecretBox::new(b"key one").seal("JBSWY3DPEHPK3PXP").unwrap();
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            SecretBox::new(b"key one").open(&sealed).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert_eq!(SecretBox::new(b"key two").open(&sealed), None);
        let mut altered = sealed.clone();
        altered.replace_range(40..41, if &sealed[40..41] == "A" { "B" } else { "A" });
        assert_eq!(SecretBox::new(b"key one").open(&altered), None);
    }

    #[test]
    fn random_values_have_the_asked_shape() {
        assert_eq!(random_digits(6).len(), 6);
        assert!(random_digits(6).chars().all(|c| c.is_ascii_digit()));
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(sha256_hex(b"abc").len(), 64);
    }
}
