//! The server secret and what is derived from it: the key that encrypts phone numbers at rest
//! and the pepper that hashes citizens' device ids and addresses. Never printed.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// 32 secret bytes. Debug shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl Secret {
    /// A new random secret.
    pub fn random() -> Secret {
        Secret(rand::random())
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Secret, String> {
        let bytes = hex::decode(s.trim()).map_err(|_| "secret key: expected 64 hex characters".to_owned())?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| "secret key: expected 64 hex characters".to_owned())?;
        Ok(Secret(arr))
    }

    /// Reads the secret from `path`, creating it (readable by the owner only) if missing.
    pub fn load_or_create(path: &Path) -> Result<Secret, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Secret::from_hex(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let s = Secret::random();
                write_private(path, &hex::encode(s.0)).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(s)
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// A fingerprint that tells two secrets apart and nothing of either: 32 hex digits.
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.derive("pingyi secret fingerprint v1")[..16])
    }

    /// The key of the audit chain's hashes and checkpoints.
    pub fn audit_key(&self) -> crate::domain::audit::AuditKey {
        crate::domain::audit::AuditKey(self.derive("pingyi audit chain v1"))
    }

    /// A key for one purpose, derived so that purposes never share a key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let Ok(mut m) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0) else { return [0; 32] };
        m.update(purpose.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(&m.finalize().into_bytes());
        out
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())
}

/// Encrypts and decrypts short personal data (phone numbers) with ChaCha20-Poly1305.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    /// The sealer for personal data, keyed from the server secret.
    pub fn new(secret: &Secret) -> Sealer {
        let key = secret.derive("pingyi personal data v1");
        Sealer { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)) }
    }

    /// `v1:` and base64 of a random nonce followed by the ciphertext.
    pub fn seal(&self, plain: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let nonce = Nonce::from_slice(&nonce_bytes);
        let Ok(ct) = self.cipher.encrypt(nonce, plain.as_bytes()) else { return String::new() };
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ct);
        format!("v1:{}", STANDARD.encode(out))
    }

    /// The plain text, or `None` if the value was not sealed with this secret.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed.strip_prefix("v1:")?).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Hashes identifying values (device ids, addresses) with a pepper so they can be compared
/// but not read back. The HMAC key is set up once, not for every value (two per rating).
#[derive(Clone)]
pub struct Pepper(Hmac<Sha256>);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(..)")
    }
}

impl Pepper {
    /// Keys the HMAC with `pepper`.
    pub fn new(pepper: &[u8; 32]) -> Pepper {
        let keyed = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(pepper);
        Pepper(keyed.unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")))
    }

    /// The value's peppered hash: 32 hex digits.
    pub fn hash(&self, value: &str) -> String {
        let mut m = self.0.clone();
        m.update(value.as_bytes());
        hex::encode(&m.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peppered_hash_is_the_first_half_of_the_hmac_in_hex() {
        let pepper = [7u8; 32];
        let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&pepper).unwrap_or_else(|e| panic!("{e}"));
        m.update(b"cookie:abc");
        let expected = hex::encode(&m.finalize().into_bytes()[..16]);
        let p = Pepper::new(&pepper);
        assert_eq!(p.hash("cookie:abc"), expected);
        assert_eq!(p.hash("cookie:abc"), expected, "the keyed state is reused, not consumed");
        assert_ne!(p.hash("cookie:abd"), expected);
        assert_ne!(Pepper::new(&[8u8; 32]).hash("cookie:abc"), expected);
    }

    #[test]
    fn sealed_values_open_only_with_the_same_secret() {
        let a = Sealer::new(&Secret::random());
        let b = Sealer::new(&Secret::random());
        let sealed = a.seal("13812345678");
        assert!(!sealed.contains("1381"));
        assert_eq!(a.open(&sealed).as_deref(), Some("13812345678"));
        assert_eq!(b.open(&sealed), None);
        assert_ne!(a.seal("13812345678"), sealed, "a fresh nonce every time");
    }

    #[test]
    fn a_missing_secret_file_is_created_and_then_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("pingyi.secret");
        let first = Secret::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let second = Secret::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, second);
        assert_eq!(format!("{first:?}"), "Secret(****)");
    }
}
