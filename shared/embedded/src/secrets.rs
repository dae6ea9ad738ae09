//! The local credentials file: the embedded home's secret store. One JSON object of
//! name → value, readable by its owner only (mode 0600), replaced atomically on every write
//! so a crash mid-write never loses the rotated refresh token: the new file is synced,
//! renamed over the old one, and the folder synced, so a power loss can't bring back the
//! old file after a new token was used. Writers take an exclusive lock on a lock file
//! beside it, so two processes (`lsbc run` refreshing Lightspeed while `lsbc connect
//! business-central` saves) never write over each other's change.

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
    // Serialises writers within the process (the file lock serialises processes); the
    // rename keeps readers consistent.
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
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(StoreError::unavailable)?;
        }
        // Held until the new file is in place: the read below sees every other writer's
        // change, and no other writer reads before this one's is visible.
        let lock = open_private(&self.path.with_extension("lock"), false)
            .map_err(StoreError::unavailable)?;
        lock.lock().map_err(StoreError::unavailable)?;
        let mut all = self.read_all()?;
        all.insert(name.to_owned(), value.expose_secret().to_owned());
        let text = serde_json::to_string_pretty(&all).map_err(|e| StoreError::Corrupt {
            key: name.to_owned(),
            message: e.to_string(),
        })?;
        let tmp = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        write_private(&tmp, text.as_bytes()).map_err(StoreError::unavailable)?;
        std::fs::rename(&tmp, &self.path).map_err(StoreError::unavailable)?;
        sync_dir(dir.as_deref().unwrap_or(Path::new("."))).map_err(StoreError::unavailable)?;
        lock.unlock().map_err(StoreError::unavailable)
    }
}

/// Opens (creating) a file only its owner may read, emptied when `truncate`.
fn open_private(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = open_private(path, true)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a rename in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}
