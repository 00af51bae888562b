//! Local-directory backend: a backend that is a directory on this machine (local disk, NAS).
//!
//! Layout under the root:
//! - `objects/<xx>/<sha256(backend key)>`: object bytes. Keys are hashed into file names because
//!   S3 keys (`a//b`, `dir/` beside `dir/file`, `..`, 1024 bytes) do not map onto file names; the
//!   catalog holds key, size and metadata, so nothing is lost. `xx` is the hash's first byte, so no
//!   directory grows past a few thousand entries per million objects.
//! - `tmp/`: uploads in progress. A write goes to a temp file, is fsynced, renamed into place and
//!   the directory fsynced: readers see either the old object or the complete new one, never a
//!   partial one, and an acknowledged write survives a crash.
//! - `multipart/<upload id>/<part number>`: parts until CompleteMultipartUpload concatenates them.
//!
//! All file I/O goes through glommio (io_uring, buffered files) so it never blocks the shard.

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::io::{
    BufferedFile, Directory, StreamReader, StreamReaderBuilder, StreamWriter, StreamWriterBuilder,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Write buffer of a local upload: large enough that a 64 KiB body slice is one write.
pub const LOCAL_WRITE_BUFFER_BYTES: usize = 128 * 1024;
/// Read buffer of a local download.
pub const LOCAL_READ_BUFFER_BYTES: usize = 128 * 1024;

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone)]
pub struct LocalBackend {
    pub name: String,
    pub root: PathBuf,
}

fn io_err(what: &str, e: impl std::fmt::Display) -> S3Error {
    S3Error::backend(
        S3ErrorCode::ServiceUnavailable,
        format!("local backend: {what}: {e}"),
    )
}

impl LocalBackend {
    /// Creates the directory layout (at start-up, before any shard runs).
    pub fn open(name: &str, root: &Path) -> std::io::Result<LocalBackend> {
        for sub in ["objects", "tmp", "multipart"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        // The 256 fan-out directories are made on first use (see `LocalWrite::commit`): making
        // them all up front costs seconds of fsyncs on some disks for every start.
        // Leftover temp files are uploads that never completed (crash): never acknowledged.
        if let Ok(rd) = std::fs::read_dir(root.join("tmp")) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        // Absolute from here on: glommio's io_uring opens of relative directory paths fail with
        // EBADF (seen with `path: ./data/disk-a`), and an absolute root also survives a chdir.
        let root = std::fs::canonicalize(root)?;
        Ok(LocalBackend {
            name: name.to_owned(),
            root,
        })
    }

    /// Where `backend_key`'s bytes live: named by its hash, so no name (`..`, `/`, NUL) reaches
    /// the file system.
    pub fn object_path(&self, backend_key: &str) -> S3Result<PathBuf> {
        let digest = Sha256::digest(backend_key.as_bytes());
        let hex = hex::encode(digest);
        self.contained(self.root.join("objects").join(&hex[..2]).join(hex))
    }

    /// Defence in depth: `path` must lie below the root with nothing but plain names after it (no
    /// `..`, no second root). Object files are hashes and upload ids are checked, so this fails
    /// only if a path builder is broken, and then nothing outside the root is touched.
    fn contained(&self, path: PathBuf) -> S3Result<PathBuf> {
        let inside = path.strip_prefix(&self.root).is_ok_and(|rest| {
            rest.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
        });
        if inside {
            Ok(path)
        } else {
            Err(S3Error::internal("local backend path outside its root"))
        }
    }

    fn tmp_path(&self) -> PathBuf {
        let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        self.root
            .join("tmp")
            .join(format!("{}-{n}", std::process::id()))
    }

    fn part_dir(&self, upload_id: &str) -> S3Result<PathBuf> {
        // Upload ids are ours (hex); refuse anything that could escape the directory.
        if upload_id.is_empty()
            || !upload_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(S3Error::new(S3ErrorCode::NoSuchUpload));
        }
        self.contained(self.root.join("multipart").join(upload_id))
    }

    /// Starts writing a new version of `backend_key` into a temp file.
    pub async fn begin_write(&self, backend_key: &str) -> S3Result<LocalWrite> {
        self.begin_temp_write(self.object_path(backend_key)?, None, "PutObject")
            .await
    }

    /// Opens a new temp file whose `commit` moves it to `dest` (for a part, `part_of` its
    /// upload's directory); `op` names the operation for metrics.
    async fn begin_temp_write(
        &self,
        dest: PathBuf,
        part_of: Option<PathBuf>,
        op: &'static str,
    ) -> S3Result<LocalWrite> {
        let tmp = self.tmp_path();
        let file = BufferedFile::create(&tmp)
            .await
            .map_err(|e| io_err("create temp file", e))?;
        let writer = StreamWriterBuilder::new(file)
            .with_buffer_size(LOCAL_WRITE_BUFFER_BYTES)
            .build();
        Ok(LocalWrite {
            writer: Some(writer),
            tmp,
            dest,
            written: 0,
            part_of,
            op,
            backend: self.name.clone(),
            started: std::time::Instant::now(),
        })
    }

    /// Opens `backend_key` for reading `[start, end)`.
    pub async fn read(&self, backend_key: &str, start: u64, end: u64) -> S3Result<StreamReader> {
        let path = self.object_path(backend_key)?;
        let file = match BufferedFile::open(&path).await {
            Ok(f) => f,
            Err(e) if is_not_found(&e) => {
                return Err(S3Error::backend(
                    S3ErrorCode::NoSuchKey,
                    "local copy missing",
                ))
            }
            Err(e) => return Err(io_err("open", e)),
        };
        Ok(StreamReaderBuilder::new(file)
            .with_start_pos(start)
            .with_end_pos(end)
            .with_buffer_size(LOCAL_READ_BUFFER_BYTES)
            .build())
    }

    /// Size of the stored copy, if it exists.
    pub async fn size_of(&self, backend_key: &str) -> S3Result<Option<u64>> {
        match BufferedFile::open(self.object_path(backend_key)?).await {
            Ok(f) => {
                let n = f.file_size().await.map_err(|e| io_err("stat", e))?;
                let _ = f.close().await;
                Ok(Some(n))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(io_err("open", e)),
        }
    }

    /// Removes a copy; removing a missing one is success (deletes are idempotent).
    pub async fn delete(&self, backend_key: &str) -> S3Result<()> {
        match glommio::io::remove(self.object_path(backend_key)?).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(io_err("remove", e)),
        }
    }

    /// Server-side copy within this backend.
    pub async fn copy(&self, src_key: &str, dst_key: &str) -> S3Result<[u8; 16]> {
        let mut reader = self.read(src_key, 0, u64::MAX).await?;
        let mut w = self.begin_write(dst_key).await?;
        let mut md5 = md5::Md5::new();
        let mut buf = crate::util::bufpool::take(LOCAL_READ_BUFFER_BYTES);
        let result = async {
            loop {
                let n = reader.read(&mut buf).await.map_err(|e| io_err("read", e))?;
                if n == 0 {
                    break;
                }
                md5.update(&buf[..n]);
                w.write(&buf[..n]).await?;
            }
            Ok::<(), S3Error>(())
        }
        .await;
        crate::util::bufpool::give(buf);
        let _ = reader.close().await;
        match result {
            Ok(()) => {
                w.commit(None).await?;
                Ok(md5.finalize().into())
            }
            Err(e) => {
                w.abort().await;
                Err(e)
            }
        }
    }

    pub async fn create_multipart(&self, upload_id: &str) -> S3Result<()> {
        let dir = self.part_dir(upload_id)?;
        blocking(move || std::fs::create_dir_all(&dir))
            .await
            .map_err(|e| io_err("mkdir", e))
    }

    /// The parts uploaded so far: (number, md5 hex ETag, size), ascending.
    pub async fn list_parts(&self, upload_id: &str) -> S3Result<Vec<(u32, String, u64)>> {
        let dir = self.part_dir(upload_id)?;
        let mut parts = blocking(move || -> std::io::Result<Vec<(u32, String, u64)>> {
            let mut out = Vec::new();
            for e in std::fs::read_dir(&dir)?.flatten() {
                let name = e.file_name();
                let Some((n, etag)) = name.to_str().and_then(|n| n.split_once('.')) else {
                    continue;
                };
                let (Ok(n), Ok(meta)) = (n.parse::<u32>(), e.metadata()) else {
                    continue;
                };
                out.push((n, etag.to_owned(), meta.len()));
            }
            Ok(out)
        })
        .await
        .map_err(|_| S3Error::new(S3ErrorCode::NoSuchUpload))?;
        parts.sort_by_key(|p| p.0);
        Ok(parts)
    }

    /// Writes one part into a temp file; `commit_part` moves it into the upload's directory.
    pub async fn begin_part(&self, upload_id: &str, part: u32) -> S3Result<LocalWrite> {
        let dir = self.part_dir(upload_id)?;
        let d = dir.clone();
        if !blocking(move || d.is_dir()).await {
            return Err(S3Error::new(S3ErrorCode::NoSuchUpload));
        }
        self.begin_temp_write(dir.join(part.to_string()), Some(dir), "UploadPart")
            .await
    }

    /// Concatenates the named parts (in order) into the object, then removes the upload.
    /// Returns the object's size.
    pub async fn complete_multipart(
        &self,
        upload_id: &str,
        parts: &[(u32, String)],
        backend_key: &str,
    ) -> S3Result<u64> {
        let dir = self.part_dir(upload_id)?;
        let mut w = self.begin_write(backend_key).await?;
        let mut buf = crate::util::bufpool::take(LOCAL_READ_BUFFER_BYTES);
        let result = async {
            for (n, etag) in parts {
                let name = format!("{n}.{}", crate::s3::etag::unquote_etag(etag));
                if name.contains('/') {
                    return Err(S3Error::new(S3ErrorCode::InvalidPart));
                }
                let file = BufferedFile::open(self.contained(dir.join(name))?)
                    .await
                    .map_err(|_| S3Error::new(S3ErrorCode::InvalidPart))?;
                let mut r = StreamReaderBuilder::new(file)
                    .with_buffer_size(LOCAL_READ_BUFFER_BYTES)
                    .build();
                loop {
                    let n = r.read(&mut buf).await.map_err(|e| io_err("read part", e))?;
                    if n == 0 {
                        break;
                    }
                    w.write(&buf[..n]).await?;
                }
                let _ = r.close().await;
            }
            Ok::<(), S3Error>(())
        }
        .await;
        crate::util::bufpool::give(buf);
        match result {
            Ok(()) => {
                let size = w.written;
                w.commit(None).await?;
                let _ = blocking(move || std::fs::remove_dir_all(&dir)).await;
                Ok(size)
            }
            Err(e) => {
                w.abort().await;
                Err(e)
            }
        }
    }

    pub async fn abort_multipart(&self, upload_id: &str) -> S3Result<()> {
        let dir = self.part_dir(upload_id)?;
        match blocking(move || std::fs::remove_dir_all(dir)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove upload", e)),
        }
    }
}

/// Directory operations glommio has no io_uring form for run on its blocking pool, never on the
/// shard itself.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    glommio::executor().spawn_blocking(f).await
}

fn is_not_found(e: &glommio::GlommioError<()>) -> bool {
    matches!(e, glommio::GlommioError::IoError(io) if io.kind() == std::io::ErrorKind::NotFound)
        || e.to_string().contains("No such file")
}

/// An upload in progress on a local backend. Dropping it without `commit` leaves only a temp file,
/// which `abort` removes (and the next start-up sweeps).
pub struct LocalWrite {
    writer: Option<StreamWriter>,
    tmp: PathBuf,
    dest: PathBuf,
    pub written: u64,
    /// For a multipart part: the upload's directory. The part is stored as `<n>.<md5 hex>` so its
    /// ETag travels with it and completion can check the ETags the client lists.
    part_of: Option<PathBuf>,
    /// For metrics: `PutObject` or `UploadPart`, and when the write began.
    pub op: &'static str,
    pub backend: String,
    pub started: std::time::Instant,
}

impl LocalWrite {
    pub async fn write(&mut self, data: &[u8]) -> S3Result<()> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| S3Error::internal("write after close"))?;
        w.write_all(data).await.map_err(|e| io_err("write", e))?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// fsync, rename into place, fsync the directory. `md5` names a part's file.
    pub async fn commit(mut self, md5: Option<[u8; 16]>) -> S3Result<()> {
        let mut w = self
            .writer
            .take()
            .ok_or_else(|| S3Error::internal("commit twice"))?;
        w.close().await.map_err(|e| io_err("close", e))?;
        if let Some(dir) = self.part_of.clone() {
            let md5 = md5.ok_or_else(|| S3Error::internal("part committed without its MD5"))?;
            let number = self
                .dest
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("0")
                .to_owned();
            self.dest = dir.join(format!("{number}.{}", hex::encode(md5)));
            // A part uploaded again replaces the earlier upload of that number.
            let prefix = format!("{number}.");
            let old: Vec<PathBuf> = blocking(move || {
                std::fs::read_dir(&dir)
                    .map(|rd| {
                        rd.flatten()
                            .filter(|e| {
                                e.file_name()
                                    .to_str()
                                    .is_some_and(|n| n.starts_with(&prefix))
                            })
                            .map(|e| e.path())
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .await;
            for o in old {
                let _ = glommio::io::remove(o).await;
            }
        }
        if let Err(e) = glommio::io::rename(&self.tmp, &self.dest).await {
            if !is_not_found(&e) {
                return Err(io_err("rename", e));
            }
            // First object in this fan-out directory: make it, then rename again.
            let parent = self.dest.parent().map(Path::to_owned).unwrap_or_default();
            blocking(move || std::fs::create_dir_all(parent))
                .await
                .map_err(|e| io_err("mkdir", e))?;
            glommio::io::rename(&self.tmp, &self.dest)
                .await
                .map_err(|e| io_err("rename", e))?;
        }
        if let Some(parent) = self.dest.parent() {
            let dir = Directory::open(parent)
                .await
                .map_err(|e| io_err("open dir", e))?;
            dir.sync().await.map_err(|e| io_err("sync dir", e))?;
            let _ = dir.close().await;
        }
        Ok(())
    }

    pub async fn abort(mut self) {
        if let Some(mut w) = self.writer.take() {
            let _ = w.close().await;
        }
        let _ = glommio::io::remove(&self.tmp).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(root: &Path) -> LocalBackend {
        LocalBackend {
            name: "disk".to_owned(),
            root: root.to_owned(),
        }
    }

    #[test]
    fn object_paths_stay_below_the_root_for_any_name() {
        let root = Path::new("/srv/disk");
        let b = backend(root);
        let names = [
            "alpha/../../../etc/passwd",
            "../beta/secret.txt",
            "alpha/~2E~2E/beta/secret.txt",
            "/etc/passwd",
            "alpha//x",
            "",
        ];
        for name in names {
            let p = b.object_path(name).expect("contained");
            assert!(p.starts_with(root.join("objects")), "{name:?} -> {p:?}");
            assert_eq!(p.components().count(), root.components().count() + 3);
        }
    }

    #[test]
    fn paths_outside_the_root_are_refused() {
        let b = backend(Path::new("/srv/disk"));
        for p in ["/srv/disk/objects/../../x", "/etc/passwd", "/srv/disk2/x"] {
            assert!(b.contained(PathBuf::from(p)).is_err(), "{p}");
        }
        assert!(b
            .contained(PathBuf::from("/srv/disk/objects/ab/cd"))
            .is_ok());
        assert!(b.part_dir("../x").is_err());
    }
}
