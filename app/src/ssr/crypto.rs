//! Encryption at rest for provider credentials: AES-256-GCM with a key id stored beside each
//! ciphertext. The first key of the ring encrypts; every key decrypts, so keys can be rotated by
//! putting a new key first and re-encrypting (`rotate` in `db::phone_config`).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;

/// Bound into every ciphertext so a token cannot be moved into another kind of field.
const AAD: &[u8] = b"phonehub/phone_config/auth_token/v1";

pub struct Key {
    id: String,
    cipher: Aes256Gcm,
}

/// The configured keys, current (encrypting) key first.
pub struct Keyring {
    keys: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("bad key specification: {0}")]
    BadKey(String),
    #[error("no key with id {0:?} is configured; the credential cannot be read")]
    UnknownKey(String),
    #[error("the stored credential could not be decrypted (wrong key or damaged data)")]
    Decrypt,
}

/// A ciphertext as stored: the key id, a fresh 96-bit nonce and the sealed bytes (with tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl Keyring {
    /// `"id1:base64key,id2:base64key"`, each key 32 bytes; the first encrypts.
    pub fn parse(spec: &str) -> Result<Keyring, CryptoError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, b64) = part
                .split_once(':')
                .ok_or_else(|| CryptoError::BadKey("expected id:base64key".into()))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| CryptoError::BadKey(format!("key {id:?} is not base64")))?;
            keys.push(Key::new(id.trim(), &bytes)?);
        }
        Keyring::new(keys)
    }

    pub fn new(keys: Vec<Key>) -> Result<Keyring, CryptoError> {
        if keys.is_empty() {
            return Err(CryptoError::BadKey("no keys".into()));
        }
        Ok(Keyring { keys })
    }

    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    pub fn encrypt(&self, plaintext: &str) -> Result<Sealed, CryptoError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: AAD,
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(Sealed {
            key_id: key.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn decrypt(&self, sealed: &Sealed) -> Result<String, CryptoError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != 12 {
            return Err(CryptoError::Decrypt);
        }
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
    }
}

impl Key {
    pub fn new(id: &str, bytes: &[u8]) -> Result<Key, CryptoError> {
        if id.is_empty()
            || id.len() > 32
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(CryptoError::BadKey(
                "key ids are 1-32 letters, digits, - or _".into(),
            ));
        }
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey(format!(
                "key {id:?} must be 32 bytes, got {}",
                bytes.len()
            )));
        }
        let cipher = Aes256Gcm::new_from_slice(bytes)
            .map_err(|_| CryptoError::BadKey(format!("key {id:?} is unusable")))?;
        Ok(Key {
            id: id.to_string(),
            cipher,
        })
    }

    /// A new random key, base64-encoded, for `PHONEHUB_CONFIG_KEYS` or the key file.
    pub fn generate_b64() -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        base64::engine::general_purpose::STANDARD.encode(k)
    }
}

/// The last four characters, for "…a1b2".
pub fn tail(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &[(&str, u8)]) -> Keyring {
        Keyring::new(
            spec.iter()
                .map(|(id, b)| Key::new(id, &[*b; 32]).unwrap())
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let r = ring(&[("k1", 7)]);
        let a = r.encrypt("secret-token-abcd").unwrap();
        let b = r.encrypt("secret-token-abcd").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert!(!String::from_utf8_lossy(&a.ciphertext).contains("secret"));
        assert_eq!(r.decrypt(&a).unwrap(), "secret-token-abcd");
        assert_eq!(a.key_id, "k1");
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable_and_new_ones_use_the_new_key() {
        let old = ring(&[("k1", 7)]);
        let sealed = old.encrypt("tok").unwrap();
        let rotated = ring(&[("k2", 9), ("k1", 7)]);
        assert_eq!(rotated.decrypt(&sealed).unwrap(), "tok");
        let again = rotated.encrypt("tok").unwrap();
        assert_eq!(again.key_id, "k2");
        // Once k1 is dropped, its ciphertexts are refused with a clear error, not garbage.
        let only_new = ring(&[("k2", 9)]);
        assert_eq!(
            only_new.decrypt(&sealed),
            Err(CryptoError::UnknownKey("k1".into()))
        );
        assert_eq!(only_new.decrypt(&again).unwrap(), "tok");
    }

    #[test]
    fn tampering_and_wrong_keys_are_detected() {
        let r = ring(&[("k1", 7)]);
        let mut s = r.encrypt("tok").unwrap();
        s.ciphertext[0] ^= 1;
        assert_eq!(r.decrypt(&s), Err(CryptoError::Decrypt));
        let s = r.encrypt("tok").unwrap();
        let impostor = ring(&[("k1", 8)]);
        assert_eq!(impostor.decrypt(&s), Err(CryptoError::Decrypt));
    }

    #[test]
    fn key_specs_are_checked() {
        let good = Key::generate_b64();
        assert!(Keyring::parse(&format!("a:{good}, b:{good}")).is_ok());
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("nokey").is_err());
        assert!(Keyring::parse("a:c2hvcnQ=").is_err());
        assert!(Keyring::parse(&format!("bad id:{good}")).is_err());
        assert!(!format!("{:?}", Keyring::parse(&format!("a:{good}")).unwrap()).contains(&good));
    }

    #[test]
    fn tails_are_four_characters() {
        assert_eq!(tail("abcdef123"), "f123");
        assert_eq!(tail("ab"), "ab");
    }
}
