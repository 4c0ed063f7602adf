//! Identifiers, virtual-key secrets and their hashes, and the wall clock in milliseconds.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// What every generated virtual key starts with.
pub const KEY_SCHEME_PREFIX: &str = "sk-sy-";
/// Random base62 characters after [`KEY_SCHEME_PREFIX`] (~238 bits of entropy).
const KEY_RANDOM_LEN: usize = 40;
/// Random base62 characters after an id's `prefix_` (~119 bits: collisions are not a concern).
const ID_RANDOM_LEN: usize = 20;
/// How many leading characters of a secret are kept for display (`key_prefix`).
pub const KEY_DISPLAY_PREFIX_LEN: usize = 8;

/// A fresh id: `prefix` + `_` + random base62, e.g. `new_id("team")` → `team_3fZ…`.
pub fn new_id(prefix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + 1 + ID_RANDOM_LEN);
    id.push_str(prefix);
    id.push('_');
    // `rand::rng()` is a CSPRNG (ChaCha, reseeded from the OS); `Alphanumeric` is base62.
    Alphanumeric.append_string(&mut rand::rng(), &mut id, ID_RANDOM_LEN);
    id
}

/// A fresh virtual-key secret: `sk-sy-` + 40 base62 characters from a CSPRNG.
/// Show it to the user once; store only [`hash_key`] of it.
pub fn generate_key() -> String {
    let mut key = String::with_capacity(KEY_SCHEME_PREFIX.len() + KEY_RANDOM_LEN);
    key.push_str(KEY_SCHEME_PREFIX);
    Alphanumeric.append_string(&mut rand::rng(), &mut key, KEY_RANDOM_LEN);
    key
}

/// SHA-256 of the secret, lowercase hex (64 characters). Keys carry 238 random bits, so a fast
/// unsalted hash is enough: there is nothing to brute-force.
pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// True for a string shaped like a [`hash_key`] output (guards against storing a raw secret).
pub(crate) fn is_key_hash(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn hash_matches_the_sha256_test_vector() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_key_hash(&hash_key("anything")));
        assert!(!is_key_hash("sk-sy-notahash"));
        assert!(!is_key_hash(&hash_key("x").to_uppercase()));
    }

    #[test]
    fn generated_keys_have_the_documented_shape_and_differ() {
        let keys: HashSet<String> = (0..100).map(|_| generate_key()).collect();
        assert_eq!(keys.len(), 100);
        for key in &keys {
            assert_eq!(key.len(), 6 + 40);
            let tail = key.strip_prefix("sk-sy-").unwrap();
            assert!(tail.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
        }
    }

    #[test]
    fn ids_carry_their_prefix() {
        let a = new_id("team");
        let b = new_id("team");
        assert_ne!(a, b);
        assert!(a.starts_with("team_"));
        assert_eq!(a.len(), 5 + 20);
        assert!(a[5..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn clock_is_after_2020() {
        assert!(now_ms() > 1_577_836_800_000);
    }
}
