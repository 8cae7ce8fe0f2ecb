//! Slave keys: made by the master, shown once, kept there only as a hash;
//! kept by the slave encrypted at rest under a key-encryption key (KEK) that
//! lives outside the database.
//!
//! A key reads `arcsync_<prefix>_<secret>`: the prefix (12 hex digits) finds
//! the key's record, the secret (256 random bits, hex) proves it. A random
//! 256-bit secret needs a fast hash (SHA-256), not a password hash; the hash
//! is compared in constant time.

use std::io::Write as _;
use std::path::Path;

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use archive_db::sync::state::SlaveKey;

const KEY_PREFIX: &str = "arcsync_";

/// A new key: the record to store and the text shown once.
pub struct IssuedKey {
    pub record: SlaveKey,
    pub secret: String,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// Makes a key for the slave `node_id`; a `read_only` key pulls and never pushes.
pub fn issue(name: &str, node_id: &str, read_only: bool) -> IssuedKey {
    let prefix = hex::encode(random_bytes::<6>());
    let secret = format!("{KEY_PREFIX}{prefix}_{}", hex::encode(random_bytes::<32>()));
    let record = SlaveKey {
        id: Uuid::now_v7(),
        name: name.trim().to_owned(),
        node_id: node_id.trim().to_owned(),
        key_prefix: prefix,
        key_hash: hash(&secret),
        created_at: archive_db::now(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
        read_only,
    };
    IssuedKey { record, secret }
}

/// Makes a key for `node_id` and stores its record; with `overlap_hours`
/// (rotation), the node's other keys expire that many hours from now.
pub async fn create(
    db: &archive_db::Db,
    name: &str,
    node_id: &str,
    overlap_hours: Option<u32>,
    read_only: bool,
) -> Result<IssuedKey, archive_db::DbError> {
    let issued = issue(name, node_id, read_only);
    let mut tx = db.begin().await?;
    tx.create_slave_key(&issued.record).await?;
    if let Some(hours) = overlap_hours {
        let at = archive_db::now() + chrono::Duration::hours(i64::from(hours));
        tx.expire_slave_keys_of(&issued.record.node_id, issued.record.id, at).await?;
    }
    tx.commit().await?;
    tracing::info!(target: "sync", node = %issued.record.node_id, key = %issued.record.key_prefix, read_only,
        "slave key created");
    Ok(issued)
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The prefix of a well-formed key.
pub fn prefix_of(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix(KEY_PREFIX)?;
    let (prefix, body) = rest.split_once('_')?;
    (prefix.len() == 12 && body.len() == 64 && body.bytes().all(|b| b.is_ascii_hexdigit())).then_some(prefix)
}

/// Whether `secret` is the key `record` stands for.
pub fn matches(record: &SlaveKey, secret: &str) -> bool {
    bool::from(record.key_hash.as_slice().ct_eq(hash(secret).as_slice()))
}

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("the key-encryption key file {path}: {error}")]
    KekFile { path: String, error: std::io::Error },
    #[error("the key-encryption key file {0} does not hold 64 hex digits")]
    KekFormat(String),
    #[error(
        "the stored slave key cannot be decrypted with this key-encryption key (was ARCHIVE_SYNC_KEK or the sync-kek file changed?)"
    )]
    Decrypt,
    #[error("that is not a slave key (it should look like arcsync_<12 hex>_<64 hex>)")]
    Malformed,
    #[error("the stored slave key cannot be read or written: {0}")]
    Db(#[from] archive_db::DbError),
}

/// The key-encryption key that protects the slave key at rest.
pub struct Kek(Key);

impl Kek {
    /// From `ARCHIVE_SYNC_KEK` if set, else from `sync-kek` under the data
    /// directory, created (mode 0600) on first use.
    pub fn load(data_dir: &Path, from_env: Option<&str>) -> Result<Kek, KeyStoreError> {
        if let Some(hex_key) = from_env {
            return Self::from_hex(hex_key)
                .ok_or_else(|| KeyStoreError::KekFormat("ARCHIVE_SYNC_KEK".into()));
        }
        let path = data_dir.join("sync-kek");
        let shown = path.display().to_string();
        let file_error = |error| KeyStoreError::KekFile { path: shown.clone(), error };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(text.trim()).ok_or_else(|| KeyStoreError::KekFormat(shown.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(file_error)?;
                let bytes = random_bytes::<32>();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(file_error)?;
                writeln!(file, "{}", hex::encode(bytes)).map_err(file_error)?;
                Ok(Kek(Key::from(bytes)))
            }
            Err(e) => Err(file_error(e)),
        }
    }

    fn from_hex(text: &str) -> Option<Kek> {
        let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
        Some(Kek(Key::from(bytes)))
    }

    /// Encrypts with a random nonce: `hex(nonce ‖ ciphertext)`.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = random_bytes::<24>();
        let cipher = XChaCha20Poly1305::new(&self.0);
        let sealed =
            cipher.encrypt(&XNonce::from(nonce), plaintext.as_bytes()).expect("encryption does not fail");
        hex::encode([nonce.as_slice(), &sealed].concat())
    }

    pub fn open(&self, sealed: &str) -> Result<String, KeyStoreError> {
        let bytes = hex::decode(sealed).map_err(|_| KeyStoreError::Decrypt)?;
        if bytes.len() < 24 {
            return Err(KeyStoreError::Decrypt);
        }
        let (nonce, body) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().expect("24 bytes");
        let cipher = XChaCha20Poly1305::new(&self.0);
        let plain = cipher.decrypt(&XNonce::from(nonce), body).map_err(|_| KeyStoreError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| KeyStoreError::Decrypt)
    }
}

/// Where a slave keeps its sealed key (in `sync_state`).
pub const SEALED_KEY_STATE: &str = "slave.sealed_key";

/// Stores the slave key, encrypted, on this slave.
pub async fn store_on_slave(db: &archive_db::Db, kek: &Kek, secret: &str) -> Result<(), KeyStoreError> {
    let secret = secret.trim();
    if prefix_of(secret).is_none() {
        return Err(KeyStoreError::Malformed);
    }
    db.set_sync_state(SEALED_KEY_STATE, Some(&kek.seal(secret))).await?;
    Ok(())
}

/// Stores a new slave key on this slave (under this node's KEK) and lifts a
/// standing "key refused": the CLI's `sync set-key` and the settings page.
pub async fn set_on_slave(
    db: &archive_db::Db,
    config: &crate::config::Config,
    secret: &str,
) -> Result<(), KeyStoreError> {
    let kek = Kek::load(&config.data_dir, config.sync.kek_hex.as_deref())?;
    store_on_slave(db, &kek, secret).await?;
    super::control::clear_key_refusal(db).await?;
    tracing::info!(target: "sync", "slave key stored (encrypted)");
    Ok(())
}

/// The public part of the key stored on this slave (`arcsync_<prefix>_…`),
/// to show which key is in use; `None` if none was set.
pub async fn stored_prefix(
    db: &archive_db::Db,
    config: &crate::config::Config,
) -> Result<Option<String>, KeyStoreError> {
    let kek = Kek::load(&config.data_dir, config.sync.kek_hex.as_deref())?;
    Ok(load_on_slave(db, &kek).await?.and_then(|key| prefix_of(&key).map(str::to_owned)))
}

/// The slave key this slave stored, decrypted; `None` if none was set.
pub async fn load_on_slave(db: &archive_db::Db, kek: &Kek) -> Result<Option<String>, KeyStoreError> {
    match db.sync_state(SEALED_KEY_STATE).await? {
        Some(sealed) => Ok(Some(kek.open(&sealed)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_matches_its_record_and_nothing_else() {
        let issued = issue("office", "office-1", false);
        assert_eq!(prefix_of(&issued.secret), Some(issued.record.key_prefix.as_str()));
        assert!(matches(&issued.record, &issued.secret));
        let other = issue("office", "office-1", false);
        assert!(!matches(&issued.record, &other.secret));
        assert!(prefix_of("arcsync_short_abc").is_none());
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_kek() {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::load(dir.path(), None).unwrap();
        let sealed = kek.seal("arcsync_secret");
        assert!(!sealed.contains("secret"));
        assert_eq!(kek.open(&sealed).unwrap(), "arcsync_secret");
        let again = Kek::load(dir.path(), None).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "arcsync_secret");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("sync-kek")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let other = Kek::load(dir.path(), Some(&"ab".repeat(32))).unwrap();
        assert!(matches!(other.open(&sealed), Err(KeyStoreError::Decrypt)));
    }
}
