//! API tokens: 32 random bytes, shown once as `arc_` + hex; stored as SHA-256.
//! A fast hash is right for a random 256-bit secret (no dictionary to slow down).

use std::time::Duration;

use sha2::{Digest, Sha256};

/// How long a token lives before it must be refreshed.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

const PREFIX: &str = "arc_";

/// A new random token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_32_bytes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 64);
        assert_eq!(hash_token(&a).len(), 32);
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
