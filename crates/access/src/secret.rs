//! Secrets: passwords and API tokens, never stored as given.
//!
//! Passwords are hashed with Argon2id (RFC 9106) at the `argon2` crate's default
//! cost (19 MiB, 2 passes, 1 lane — OWASP's recommended minimum) into a PHC
//! string that carries its own salt and parameters, so the cost can be raised
//! later without breaking old hashes. API tokens are 32 random bytes: far too many
//! to guess, so a single SHA-256 of the token is a safe thing to store and is
//! cheap enough to check on every request (a password hash per call would not be).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// Checks a new password against the policy (NCSC: length over complexity).
pub fn check_new_password(password: &str, user_name: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!(
            "a password has at least {MIN_PASSWORD} characters; three random words make a good one"
        ));
    }
    if password.chars().count() > 256 {
        return Err("a password has at most 256 characters".into());
    }
    if !user_name.is_empty() && password.to_lowercase().contains(&user_name.to_lowercase()) {
        return Err("a password must not contain the user name".into());
    }
    if common(password) {
        return Err("that password is one of the most common (or one of them with numbers or symbols added): \
             choose one nobody else would, such as three random words"
            .into());
    }
    Ok(())
}

/// The 10,000 most common passwords of four characters or more, lower-cased: the
/// head of the frequency list in zxcvbn 4.4.2 (MIT licence; drawn from Xato's
/// corpus of 10 million leaked passwords), one a line.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

static COMMON: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| COMMON_PASSWORDS.lines().collect());

/// Whether a password is a common one (OWASP ASVS 2.1.7), ignoring case: one on
/// the list; one on the list with digits or symbols before or after it
/// (`password1234`, `!!Summer2024`); or one word of the list said again
/// (`monkeymonkeymonkey`).
pub fn common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    let repeated = (1..=core.len() / 2).any(|n| {
        core.len() % n == 0
            && core.is_char_boundary(n)
            && core[..n].repeat(core.len() / n) == core
            && COMMON.contains(&core[..n])
    });
    COMMON.contains(lower.as_str())
        || (core.chars().count() >= 4 && COMMON.contains(core))
        || repeated
}

/// Hashes a password with a 16-byte random salt the caller draws.
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, String> {
    let salt = SaltString::encode_b64(salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches a stored PHC hash (false for a malformed hash).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of a token (session id, API token, reset link, CSRF secret):
/// SHA-256, as hex.
pub fn hash_token(token: &str) -> String {
    hex_sha256(token)
}

/// `n` random bytes from the operating system, as hex: session ids, tokens,
/// reset links, salts' sources.
pub fn random_hex(n: usize) -> Result<String, NoRandomness> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| NoRandomness(e.to_string()))?;
    Ok(hex(&buf))
}

/// The operating system gave no random numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRandomness(String);

impl std::fmt::Display for NoRandomness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no random numbers from the system: {}", self.0)
    }
}

impl std::error::Error for NoRandomness {}

/// Lower-case hex of a text's SHA-256.
pub fn hex_sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// HMAC-SHA256 (RFC 2104) of `text` under `key`, as hex: a value only the
/// holder of the key can make, such as a form token bound to a pre-session.
pub fn keyed_hash(key: &[u8], text: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(text.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let h = hash_password("correct horse battery", &[7; 16]).unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(check_new_password("short", "ada").is_err());
        assert!(check_new_password("ada-is-my-password", "ada").is_err());
        assert!(check_new_password("tulip kettle orbit", "ada").is_ok());
    }

    #[test]
    fn common_passwords_are_refused() {
        for p in [
            "password1234",
            "PASSWORD1234",
            "123qweasdzxc",
            "!!Summer2024!!",
            "monkeymonkeymonkey",
            "qwertyuiop12",
        ] {
            assert!(common(p), "{p}");
            assert!(check_new_password(p, "ada").is_err(), "{p}");
        }
        for p in [
            "tulip kettle orbit",
            "correct horse battery",
            "xq7-rivet-loam-99",
        ] {
            assert!(!common(p), "{p}");
        }
    }

    #[test]
    fn tokens() {
        assert_eq!(hash_token("abc").len(), 64);
        assert_ne!(hash_token("abc"), hash_token("abd"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert_eq!(hex(&[0, 255]), "00ff");
        // RFC 4231 test case 2.
        assert_eq!(
            keyed_hash(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
