//! The local credentials file: the embedded home's secret store. One JSON object of
//! name → value, readable by its owner only (mode 0600), replaced atomically on every write
//! so a crash mid-write never loses the rotated refresh token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use lsbc_core::StoreError;
use lsbc_core::ports::{Freshness, SecretStore};
use secrecy::{ExposeSecret, SecretString};

/// Secrets in a local file.
#[derive(Debug)]
pub struct FileSecretStore {
    path: PathBuf,
    // Serialises writers within the process; the rename keeps readers consistent.
    write: Mutex<()>,
}

impl FileSecretStore {
    /// The store at `path` (created on the first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            write: Mutex::new(()),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_all(&self) -> Result<BTreeMap<String, String>, StoreError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                key: self.path.display().to_string(),
                message: format!("not a JSON object of strings: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}

#[async_trait]
impl SecretStore for FileSecretStore {
    async fn get(&self, name: &str, _freshness: Freshness) -> Result<SecretString, StoreError> {
        self.read_all()?
            .remove(name)
            .map(SecretString::from)
            .ok_or_else(|| {
                StoreError::NotFound(format!("secret {name} in {}", self.path.display()))
            })
    }

    async fn put(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        let _guard = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all = self.read_all()?;
        all.insert(name.to_owned(), value.expose_secret().to_owned());
        let text = serde_json::to_string_pretty(&all).map_err(|e| StoreError::Corrupt {
            key: name.to_owned(),
            message: e.to_string(),
        })?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::unavailable)?;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        write_private(&tmp, text.as_bytes()).map_err(StoreError::unavailable)?;
        std::fs::rename(&tmp, &self.path).map_err(StoreError::unavailable)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
