//! Time-based one-time passwords (RFC 6238, over HOTP, RFC 4226): the optional
//! second factor. Six digits, 30-second steps, HMAC-SHA1 — what every
//! authenticator app speaks. A code is accepted one step either side of now, for
//! clocks that drift; the secret is 20 random bytes, shown as base32.

use hmac::{Hmac, Mac};
use sha1::Sha1;

const STEP: i64 = 30;

/// The HOTP value of `secret` at `counter` (RFC 4226, section 5.3).
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let code = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    code % 1_000_000
}

/// Whether `code` is the secret's code at `unix_seconds`, or one step either side.
pub fn verify(secret_base32: &str, code: &str, unix_seconds: i64) -> bool {
    step(secret_base32, code, unix_seconds).is_some()
}

/// The time step whose code `code` is (now, or one step either side), if any. A
/// code is single-use: the caller remembers the last step it accepted and refuses
/// this one unless it is later (RFC 6238 section 5.2).
pub fn step(secret_base32: &str, code: &str, unix_seconds: i64) -> Option<i64> {
    let secret = from_base32(secret_base32)?;
    let code = code.trim().replace(' ', "");
    let n = code.parse::<u32>().ok()?;
    if code.len() != 6 {
        return None;
    }
    let now = unix_seconds.div_euclid(STEP);
    (-1..=1)
        .map(|d| now + d)
        .find(|&c| u64::try_from(c).is_ok_and(|c| hotp(&secret, c) == n))
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, without padding (as authenticator apps take it).
pub fn to_base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text
        .trim_end_matches('=')
        .bytes()
        .filter(|c| !c.is_ascii_whitespace())
    {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads (by QR code or by hand).
pub fn uri(issuer: &str, user: &str, secret_base32: &str) -> String {
    let enc = |s: &str| s.replace(' ', "%20").replace(':', "%3A");
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&digits=6&period=30",
        enc(issuer),
        enc(user),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_test_vectors() {
        // RFC 4226 appendix D: secret "12345678901234567890".
        let secret = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, e) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, c as u64), *e);
        }
        // RFC 6238 appendix B (SHA-1), last six digits: 59 s → 94287082.
        let b32 = to_base32(secret);
        assert_eq!(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(verify(&b32, "287082", 59));
        assert!(
            verify(&b32, "287 082", 59 + 30),
            "one step late is accepted"
        );
        assert!(!verify(&b32, "287082", 59 + 90));
        assert!(!verify(&b32, "28708", 59));
        assert!(!verify("not base32!", "287082", 59));
        assert_eq!(step(&b32, "287082", 59), Some(1));
        assert_eq!(
            step(&b32, "287082", 59 + 30),
            Some(1),
            "the code's own step"
        );
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(from_base32(&to_base32(&bytes)).unwrap(), bytes);
        }
    }
}
