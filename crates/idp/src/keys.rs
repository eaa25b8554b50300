//! The RSA key that signs every token, and its public half as a JWKS.
//!
//! The key is a 2048-bit RSA key kept as a PKCS#8 PEM file (mode 0600 on unix) in
//! the data directory. It is generated on first start and reused afterwards, so
//! tokens issued before a restart still verify against the JWKS after it. Its
//! `kid` is the RFC 7638 thumbprint of the public key: stable, and different for
//! every key, so a resource server that caches the JWKS notices a new key.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Error;

/// The file name of the signing key inside the data directory.
pub(crate) const KEY_FILE: &str = "signing-key.pem";

/// RSA modulus size: the minimum RFC 7518 §3.3 and NIST allow for RS256.
const KEY_BITS: usize = 2048;

/// The signing key, ready to sign and verify.
pub(crate) struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    n: String,
    e: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads the key from `data_dir`, or generates and saves one if there is none.
    /// File I/O and RSA generation are slow, so both run on the blocking pool.
    pub(crate) async fn load_or_generate(data_dir: &Path) -> Result<Self, Error> {
        let path = data_dir.join(KEY_FILE);
        tokio::task::spawn_blocking(move || load_or_generate_blocking(&path))
            .await
            .map_err(|e| Error::KeyGeneration(format!("key task failed: {e}")))?
    }

    /// The key id (`kid`) put in every token header and in the JWKS.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` as an RS256 JWT with this key's `kid` and the given `typ`.
    pub(crate) fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// The key to verify this provider's own tokens with (for `/userinfo`).
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public key as a JSON Web Key Set (RFC 7517).
    pub(crate) fn jwks(&self) -> serde_json::Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "n": self.n,
                "e": self.e,
            }]
        })
    }
}

fn load_or_generate_blocking(path: &Path) -> Result<SigningKey, Error> {
    let key_file = |source| Error::KeyFile {
        path: path.to_owned(),
        source,
    };
    let key = match std::fs::read_to_string(path) {
        Ok(pem) => {
            warn_if_readable_by_others(path);
            let key = RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| Error::KeyFormat {
                path: path.to_owned(),
                problem: e.to_string(),
            })?;
            if key.size() * 8 < KEY_BITS {
                return Err(Error::KeyFormat {
                    path: path.to_owned(),
                    problem: format!(
                        "the key has {} bits; at least {KEY_BITS} are required",
                        key.size() * 8
                    ),
                });
            }
            tracing::debug!(path = %path.display(), "loaded signing key");
            key
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "generating a new {KEY_BITS}-bit RSA signing key");
            let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
                .map_err(|e| Error::KeyGeneration(e.to_string()))?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| Error::KeyGeneration(e.to_string()))?;
            write_private(path, pem.as_bytes()).map_err(key_file)?;
            key
        }
        Err(e) => return Err(key_file(e)),
    };
    from_rsa(&key).map_err(|problem| Error::KeyFormat {
        path: path.to_owned(),
        problem,
    })
}

fn from_rsa(key: &RsaPrivateKey) -> Result<SigningKey, String> {
    let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
    let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
    // RFC 7638 §3: the required members in lexicographic order, no whitespace.
    let thumbprint_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
    let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|e| e.to_string())?;
    Ok(SigningKey {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        decoding,
        kid,
        n,
        e,
    })
}

/// Writes `bytes` to `path` readable by the owner only, through a temporary file
/// and a rename so that a crash never leaves half a key behind.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = PathBuf::from(path);
    temp.set_extension("pem.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "signing key is readable by other users; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
