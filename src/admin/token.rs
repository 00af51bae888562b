//! The admin token generated when the config names no admin credentials (`ui.admin_key` /
//! `ui.admin_secret` / `ui.admin_token`): the admin API is never open, so a fresh install gets a
//! random bearer token, stored beside the catalog (`<catalog.path>.admin-token`, mode 0600 from
//! the moment it exists) and reused on later starts. Its location is logged, never its value.

use crate::config::Secret;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Appended to the catalog directory's name: the token lives next to the data it guards and
/// moves with it (`./data/catalog` → `./data/catalog.admin-token`).
pub(crate) const TOKEN_FILE_SUFFIX: &str = ".admin-token";

/// Random bytes in a generated token (hex-encoded in the file): 256 bits, beyond guessing even
/// at the listener's full rate.
pub(crate) const TOKEN_BYTES: usize = 32;

/// Shortest token accepted from an existing file: an operator may write their own, but not a
/// trivially guessable one (128 bits as hex).
pub(crate) const MIN_TOKEN_CHARS: usize = 32;

/// Only the owner may read or write the token file.
const TOKEN_FILE_MODE: u32 = 0o600;

/// Where the generated token of the catalog at `catalog` lives.
pub(crate) fn path_for(catalog: &Path) -> PathBuf {
    match catalog.file_name() {
        Some(name) => {
            let mut name = name.to_os_string();
            name.push(TOKEN_FILE_SUFFIX);
            catalog.with_file_name(name)
        }
        None => catalog.join(&TOKEN_FILE_SUFFIX[1..]),
    }
}

/// Reads the token at `path`, or creates it (mode 0600 at creation, never chmod afterwards).
pub(crate) fn load_or_create(path: &Path) -> Result<Secret, String> {
    match read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        other => return other.map_err(|e| format!("{}: {e}", path.display()))?,
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let token = hex::encode(rand::random::<[u8; TOKEN_BYTES]>());
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(TOKEN_FILE_MODE)
        .open(path);
    let mut file = match created {
        Ok(f) => f,
        // Another process created it meanwhile: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return read(path).map_err(|e| format!("{}: {e}", path.display()))?
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Secret::new(token))
}

/// The token in an existing file; `Ok(Err(why))` when the file is there but unusable.
fn read(path: &Path) -> std::io::Result<Result<Secret, String>> {
    let meta = std::fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Ok(Err(format!(
            "readable by other users (mode {:o}); chmod 600 it",
            meta.permissions().mode() & 0o777
        )));
    }
    let text = std::fs::read_to_string(path)?;
    let token = text.trim();
    if token.len() < MIN_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(Err(format!(
            "not an admin token (at least {MIN_TOKEN_CHARS} visible characters expected)"
        )));
    }
    Ok(Ok(Secret::new(token)))
}

/// The generated token, loaded the first time the admin API is reached without configured
/// credentials (at start, or after a reload that removed them).
pub(crate) struct GeneratedToken {
    path: PathBuf,
    token: Mutex<Option<Secret>>,
    /// Whether an unusable file was reported already (once, not at every request).
    reported: std::sync::atomic::AtomicBool,
}

impl GeneratedToken {
    pub(crate) fn new(path: PathBuf) -> GeneratedToken {
        GeneratedToken {
            path,
            token: Mutex::new(None),
            reported: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The token, created or read on first use; `None` (and an error logged) when the file cannot
    /// be used: then only configured credentials would open the admin API.
    pub(crate) fn get(&self) -> Option<Secret> {
        let mut slot = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            match load_or_create(&self.path) {
                Ok(t) => {
                    tracing::info!(
                        token_file = %self.path.display(),
                        "no admin credentials configured: the admin API takes the bearer token stored in this file"
                    );
                    *slot = Some(t);
                }
                Err(e) => {
                    if !self
                        .reported
                        .swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        tracing::error!(error = %e, "cannot use the generated admin token file; the admin API stays closed");
                    }
                }
            }
        }
        slot.clone()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn beside_the_catalog() {
        assert_eq!(
            path_for(Path::new("./data/catalog")),
            Path::new("./data/catalog.admin-token")
        );
        assert_eq!(
            path_for(Path::new("/var/lib/s3o/cat/")),
            Path::new("/var/lib/s3o/cat.admin-token")
        );
    }

    #[test]
    fn created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("catalog.admin-token");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.expose().len(), 2 * TOKEN_BYTES);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, TOKEN_FILE_MODE);
        assert_eq!(load_or_create(&path).unwrap().expose(), first.expose());
        // A file others can read is refused, not silently used.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_or_create(&path).unwrap_err().contains("chmod 600"));
        std::fs::write(&path, "short\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load_or_create(&path)
            .unwrap_err()
            .contains("not an admin token"));
    }
}
