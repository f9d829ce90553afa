//! Secrets the server must read back (a user's TOTP key), kept sealed at rest:
//! ChaCha20-Poly1305 (RFC 8439) under a 32-byte key from the deployment's
//! configuration, with a fresh random 96-bit nonce per sealing. The sealed form is
//! `v1:` and the hex of nonce ‖ ciphertext ‖ tag, so a copy of the database alone
//! gives no second factor away, and a changed or swapped value fails to open
//! rather than giving a wrong secret.

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};

use crate::secret::hex;

const PREFIX: &str = "v1:";

/// A key that seals and opens secrets.
#[derive(Clone)]
pub struct SealKey(Key);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

/// Why a key could not be read or a secret could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a key is 64 hexadecimal digits (32 bytes), such as the output of `openssl rand -hex 32`; this one {0}")]
    BadKey(String),
    #[error("the sealed secret is damaged or was sealed with another key")]
    Unopenable,
    #[error("no random numbers from the system: {0}")]
    NoRandomness(String),
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SealKey {
    /// A key from 64 hex digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<SealKey, SealError> {
        let text = text.trim();
        let bytes = unhex(text).ok_or_else(|| {
            SealError::BadKey(format!("has {} characters or a non-hex one", text.len()))
        })?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SealError::BadKey(format!("is {} bytes", b.len())))?;
        Ok(SealKey(bytes.into()))
    }

    /// A fresh random key (tests, and a store that keeps its own key file).
    pub fn random() -> Result<SealKey, SealError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SealError::NoRandomness(e.to_string()))?;
        Ok(SealKey(bytes.into()))
    }

    /// The key as 64 hex digits, to be written to a key file.
    pub fn to_hex(&self) -> String {
        hex(self.0.as_slice())
    }

    /// Seals `plain`.
    pub fn seal(&self, plain: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| SealError::NoRandomness(e.to_string()))?;
        let sealed = ChaCha20Poly1305::new(&self.0)
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| SealError::Unopenable)?;
        Ok(format!("{PREFIX}{}{}", hex(&nonce), hex(&sealed)))
    }

    /// Opens a sealed secret.
    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(unhex)
            .filter(|b| b.len() > 12)
            .ok_or(SealError::Unopenable)?;
        let (nonce, body) = bytes.split_at(12);
        let plain = ChaCha20Poly1305::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| SealError::Unopenable)?;
        String::from_utf8(plain).map_err(|_| SealError::Unopenable)
    }
}

/// Whether a stored value is sealed (rather than an older plain one).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_unchanged() {
        let key = SealKey::random().unwrap();
        let sealed = key.seal("GEZDGNBVGY3TQOJQ").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("GEZDGNBVGY3TQOJQ"));
        assert_ne!(
            sealed,
            key.seal("GEZDGNBVGY3TQOJQ").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed).unwrap(), "GEZDGNBVGY3TQOJQ");
        let other = SealKey::random().unwrap();
        assert_eq!(other.open(&sealed), Err(SealError::Unopenable));
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            key.open(&String::from_utf8(flipped).unwrap()),
            Err(SealError::Unopenable)
        );
        assert_eq!(key.open("GEZDGNBVGY3TQOJQ"), Err(SealError::Unopenable));
        let again = SealKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "GEZDGNBVGY3TQOJQ");
        assert!(SealKey::from_hex("abcd").is_err());
        assert!(SealKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
