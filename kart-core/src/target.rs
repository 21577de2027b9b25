//! Where outputs live: a [`Workspace`] over a [`Store`] (the local filesystem today; the trait
//! is shaped for object stores: whole-object put, get, head, list one prefix), and the
//! [`Target`] of one output. Every write is atomic.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Digest;

use crate::{Error, Result};

/// How an output is serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty JSON (the default): readable, diffable.
    Json,
    /// MessagePack: compact binary, self-describing.
    MessagePack,
}

impl Format {
    /// File extension used in default output paths.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::MessagePack => "msgpack",
        }
    }

    /// Serializes a value.
    pub fn encode<T: Serialize>(self, value: &T) -> std::result::Result<Vec<u8>, String> {
        match self {
            Format::Json => {
                let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
                bytes.push(b'\n');
                Ok(bytes)
            }
            Format::MessagePack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
        }
    }

    /// Deserializes a value; the error says what is wrong with the bytes.
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> std::result::Result<T, String> {
        match self {
            Format::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
            Format::MessagePack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
        }
    }
}

/// Storage behind a workspace. Keys are `/`-separated relative paths.
pub trait Store: Send + Sync + fmt::Debug {
    /// Full location of a key, for messages (a path or URL).
    fn location(&self, key: &str) -> String;
    /// Whether the object exists.
    fn exists(&self, key: &str) -> Result<bool>;
    /// The whole object.
    fn read(&self, key: &str) -> Result<Vec<u8>>;
    /// Publishes the object unless one is already there (the first commit wins, and a
    /// committed output is never replaced): readers see nothing or the whole object, never a
    /// part. `before` runs once the data is durable, immediately before it becomes visible;
    /// its error abandons the write (a holder that lost its lock must not publish).
    fn publish(
        &self,
        key: &str,
        data: &[u8],
        before: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Published>;
    /// Removes the object; absent is fine.
    fn remove(&self, key: &str) -> Result<()>;
    /// Calls `each` with the name of every object directly under `dir` (`""` for the root);
    /// an absent dir has none. Names that are not UTF-8 are left out (no key can match them).
    fn visit_dir(&self, dir: &str, each: &mut dyn FnMut(&str)) -> Result<()>;
    /// Names of the objects directly under `dir`, collected from [`Store::visit_dir`].
    fn list_dir(&self, dir: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        self.visit_dir(dir, &mut |name| names.push(name.to_string()))?;
        Ok(names)
    }
    /// Every output in the store (kart's own hidden state and temporary files left out).
    fn list_all(&self) -> Result<Vec<ObjectInfo>>;
    /// Requests sent so far, for stores that send them (object storage).
    fn remote_requests(&self) -> Option<&crate::remote::RequestCounts> {
        None
    }
}

/// Runs a publish's `before` check: the last thing between durable data and a visible
/// output, for every store (the failpoints let fault tests freeze a writer on either side).
pub(crate) fn last_check(before: &mut dyn FnMut() -> Result<()>) -> Result<()> {
    crate::failpoint::hit("publish-durable");
    before()?;
    crate::failpoint::hit("publish-checked");
    Ok(())
}

/// How [`Store::publish`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// This write put the object in place.
    Written,
    /// An object was already there (another worker committed first); it was left as it is.
    AlreadyThere,
}

/// One stored output, as [`Store::list_all`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its key relative to the workspace.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When it was last written.
    pub modified: std::time::SystemTime,
}

/// Rejects keys that would escape the workspace or are not plain relative paths.
pub(crate) fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("empty path".into());
    }
    if key.starts_with('/') {
        return Err("must be a relative path with `/` separators".into());
    }
    // Byte-level checks: range completeness runs this on hundreds of thousands of keys.
    let bytes = key.as_bytes();
    if bytes.contains(&b'\\') {
        return Err("must be a relative path with `/` separators".into());
    }
    if bytes
        .split(|&b| b == b'/')
        .any(|part| matches!(part, b"" | b"." | b".."))
    {
        return Err("must not contain empty, `.` or `..` components".into());
    }
    Ok(())
}

/// Local filesystem store rooted at a directory.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    fsync: bool,
}

impl LocalStore {
    /// A store at `root`, creating it if needed.
    pub fn create(root: impl Into<PathBuf>, fsync: bool) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| Error::Workspace {
            path: root.clone(),
            source,
        })?;
        // Probe writability now so the user hears about it before any task runs.
        tempfile::Builder::new()
            .prefix(".kart-probe")
            .tempfile_in(&root)
            .map_err(|source| Error::Workspace {
                path: root.clone(),
                source,
            })?;
        Ok(LocalStore { root, fsync })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

impl Store for LocalStore {
    fn location(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key);
        match std::fs::metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("cannot check", path, e)),
        }
    }

    fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key);
        std::fs::read(&path).map_err(|e| Error::io("cannot read", path, e))
    }

    fn publish(
        &self,
        key: &str,
        data: &[u8],
        before: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Published> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
        // A hidden sibling in the same directory: the rename is atomic and the temp file never
        // matches an output path. Dropping it on any error removes it.
        let mut tmp = crate::atomic_file::temp_beside(&path)
            .map_err(|e| Error::io("cannot create temporary file for", &path, e))?;
        let _in_flight = InFlight::register(tmp.path());
        // Held until the file is renamed or removed: the stale-temp sweep of another process
        // (whose clock may be hours off) skips a file someone is still writing.
        tmp.as_file()
            .lock()
            .map_err(|e| Error::io("cannot lock temporary file for", &path, e))?;
        tmp.write_all(data)
            .map_err(|e| Error::io("cannot write", &path, e))?;
        if self.fsync {
            tmp.as_file()
                .sync_all()
                .map_err(|e| Error::io("cannot sync", &path, e))?;
        }
        last_check(before)?;
        // renameat2(RENAME_NOREPLACE): an output that appeared meanwhile is kept.
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok(Published::Written),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(Published::AlreadyThere)
            }
            Err(e) => Err(Error::io("cannot rename into place", &path, e.error)),
        }
    }

    fn remove(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot remove", path, e)),
        }
    }

    fn visit_dir(&self, dir: &str, each: &mut dyn FnMut(&str)) -> Result<()> {
        let path = if dir.is_empty() {
            self.root.clone()
        } else {
            self.path(dir)
        };
        visit_local_dir(&path, each).map_err(|e| Error::io("cannot list", path, e))
    }

    fn list_all(&self) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("cannot list", &dir, e)),
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if entry.file_name().to_string_lossy().starts_with('.') {
                    continue; // kart's own state (.kart) and temporary files
                }
                match entry.file_type() {
                    Ok(t) if t.is_dir() => dirs.push(path),
                    Ok(_) => {
                        let meta = entry
                            .metadata()
                            .map_err(|e| Error::io("cannot inspect", &path, e))?;
                        let key = path
                            .strip_prefix(&self.root)
                            .unwrap_or(&path)
                            .to_string_lossy()
                            .replace('\\', "/");
                        out.push(ObjectInfo {
                            key,
                            size: meta.len(),
                            modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                        });
                    }
                    Err(_) => {}
                }
            }
        }
        Ok(out)
    }
}

/// Lists a local directory without allocating per entry: range completeness reads hundreds of
/// thousands of names, and `std::fs::read_dir` copies each into its own allocation.
#[cfg(target_os = "linux")]
fn visit_local_dir(path: &Path, each: &mut dyn FnMut(&str)) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags, RawDir};
    let fd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    // 256 KiB: one getdents64 call returns thousands of names.
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 256 * 1024];
    let mut dir = RawDir::new(fd, &mut buf);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        if let Ok(name) = std::str::from_utf8(name) {
            each(name);
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn visit_local_dir(path: &Path, each: &mut dyn FnMut(&str)) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        if let Some(name) = entry?.file_name().to_str() {
            each(name);
        }
    }
    Ok(())
}

/// Temporary files being written right now, so a forced exit can remove them.
static IN_FLIGHT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

struct InFlight(PathBuf);

impl InFlight {
    fn register(path: &Path) -> Self {
        IN_FLIGHT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(path.to_path_buf());
        InFlight(path.to_path_buf())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut list = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

/// Removes the temporary files this process is writing (for a forced exit, where they would
/// not be dropped). Returns how many were removed.
pub fn remove_in_flight_temp_files() -> usize {
    let list = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
    list.iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

pub use crate::atomic_file::is_temp_file_name;

/// Like [`clean_stale_temp_files`], at most once per `older_than` per workspace (a marker
/// under `.kart/` records the last sweep), so a big workspace is not walked on every run.
pub fn clean_stale_temp_files_now_and_then(
    root: &Path,
    older_than: std::time::Duration,
) -> Vec<PathBuf> {
    let marker = root.join(".kart").join("temp-sweep");
    let recent = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().unwrap_or_default() < older_than);
    if recent {
        return Vec::new();
    }
    let removed = clean_stale_temp_files(root, older_than);
    if std::fs::create_dir_all(root.join(".kart")).is_ok() {
        let _ = std::fs::write(&marker, b"");
    }
    removed
}

/// Removes kart temporary files under `root` last modified more than `older_than` ago: what a
/// process killed mid-write (`kill -9`) left behind. Returns the paths removed.
pub fn clean_stale_temp_files(root: &Path, older_than: std::time::Duration) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    let now = std::time::SystemTime::now();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if name != ".kart" {
                    dirs.push(entry.path());
                }
                continue;
            }
            // Only kart's temporary files are looked at more closely.
            if !is_temp_file_name(&name) {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= older_than);
            // Old by the clocks is not enough: a live writer holds its file's lock.
            if stale && !being_written(&entry.path()) && std::fs::remove_file(entry.path()).is_ok()
            {
                removed.push(entry.path());
            }
        }
    }
    removed
}

/// Whether a live writer holds the lock of the temporary file at `path`.
fn being_written(path: &Path) -> bool {
    match std::fs::File::open(path) {
        Ok(file) => matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// The place all outputs of a run are written to.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let ws = kart_core::Workspace::local(dir.path()).unwrap();
/// use kart_core::target::Published;
/// assert_eq!(ws.target("a/b.json").publish(b"{}").unwrap(), Published::Written);
/// assert!(ws.exists("a/b.json").unwrap());
/// // A committed output is never replaced.
/// assert_eq!(ws.target("a/b.json").publish(b"[]").unwrap(), Published::AlreadyThere);
/// ```
#[derive(Clone, Debug)]
pub struct Workspace {
    store: Arc<dyn Store>,
    root: String,
}

impl Workspace {
    /// A workspace on the local filesystem (created if missing), with fsync on every write.
    pub fn local(root: impl AsRef<Path>) -> Result<Self> {
        Self::local_with(root, true)
    }

    /// A local workspace; `fsync = false` trades crash durability for speed (the rename is
    /// still atomic, so no partial output is ever visible).
    pub fn local_with(root: impl AsRef<Path>, fsync: bool) -> Result<Self> {
        let root = root.as_ref();
        Ok(Workspace {
            store: Arc::new(LocalStore::create(root, fsync)?),
            root: root.display().to_string(),
        })
    }

    /// The workspace at `location`: a directory (or `file://` URL), or object storage
    /// (`s3://bucket/prefix`, `gs://…`, `az://…`; see [`crate::remote`]).
    pub fn open(location: &str, fsync: bool) -> Result<Self> {
        if crate::remote::is_remote(location) {
            let store = crate::remote::ObjectStoreWorkspace::open(location)?;
            return Ok(Workspace::with_store(
                Arc::new(store),
                location.trim_end_matches('/'),
            ));
        }
        if let Some(path) = location.strip_prefix("file://") {
            return Self::local_with(path, fsync);
        }
        if let Some((scheme, _)) = location.split_once("://") {
            return Err(Error::RemoteWorkspace {
                url: location.to_string(),
                message: format!(
                    "unsupported scheme `{scheme}://`; expected a directory, file://, s3://, gs:// or az://"
                ),
            });
        }
        Self::local_with(location, fsync)
    }

    /// Where kart keeps this workspace's local state (file locks, messages) on this
    /// machine: the directory itself for a local workspace, a directory under the system's
    /// temporary directory for object storage.
    pub fn state_dir_for(location: &str) -> PathBuf {
        if crate::remote::is_remote(location) {
            let digest = hex::encode(sha2::Sha256::digest(location.trim_end_matches('/')));
            std::env::temp_dir().join(format!("kart-state-{}", &digest[..16]))
        } else {
            PathBuf::from(location.strip_prefix("file://").unwrap_or(location))
        }
    }

    /// A short, stable name of the workspace at `location`: 8 hex digits of SHA-256 over its
    /// canonical form (an object-storage URL without a trailing `/`; a directory's absolute
    /// path, symlinks resolved when it exists). Redis keys carry it, so two workspaces sharing
    /// one server never contend.
    pub fn identity(location: &str) -> String {
        let canonical = if crate::remote::is_remote(location) {
            location.trim_end_matches('/').to_string()
        } else {
            let path = Path::new(location.strip_prefix("file://").unwrap_or(location));
            std::fs::canonicalize(path)
                .or_else(|_| std::path::absolute(path))
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
                .to_string()
        };
        hex::encode(&sha2::Sha256::digest(canonical.as_bytes())[..4])
    }

    /// Whether the outputs live on the local filesystem.
    pub fn is_local(&self) -> bool {
        !crate::remote::is_remote(&self.root)
    }

    /// A workspace over any store.
    pub fn with_store(store: Arc<dyn Store>, root: impl Into<String>) -> Self {
        Workspace {
            store,
            root: root.into(),
        }
    }

    /// Where the workspace is (path or URL).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The target at `key`.
    pub fn target(&self, key: &str) -> Target {
        Target {
            store: self.store.clone(),
            key: key.to_string(),
        }
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        self.store.exists(key)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// One output location.
#[derive(Clone, Debug)]
pub struct Target {
    store: Arc<dyn Store>,
    key: String,
}

impl Target {
    /// The key relative to the workspace.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// Whether it exists: a task is complete when its target exists.
    pub fn exists(&self) -> Result<bool> {
        self.store.exists(&self.key)
    }
    /// The whole content.
    pub fn read(&self) -> Result<Vec<u8>> {
        self.store.read(&self.key)
    }
    /// Writes the content atomically unless the target already exists (see
    /// [`Store::publish`]).
    pub fn publish(&self, data: &[u8]) -> Result<Published> {
        self.store.publish(&self.key, data, &mut || Ok(()))
    }
    /// Like [`publish`](Self::publish), with `before` run immediately before the content
    /// becomes visible; its error abandons the write.
    pub fn publish_checked(
        &self,
        data: &[u8],
        before: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Published> {
        self.store.publish(&self.key, data, before)
    }
    /// Removes it.
    pub fn remove(&self) -> Result<()> {
        self.store.remove(&self.key)
    }
    /// The location, for messages.
    pub fn path_for_display(&self) -> PathBuf {
        PathBuf::from(self.store.location(&self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        for good in ["a/b.json", "a", "..a/b.", "a/.b/c..d"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/etc/x", "a/../b", "a//b", "./a", "a\\b", "a/", "a/..", "a/.",
        ] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn temp_file_names_are_recognized() {
        assert!(is_temp_file_name(".2015-01-01.json.aB3dE9.tmp"));
        assert!(!is_temp_file_name("2015-01-01.json"));
        assert!(!is_temp_file_name(".hidden.tmp"));
        assert!(!is_temp_file_name("00.json.tmp"));
    }

    #[test]
    fn atomic_write_leaves_only_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::local(dir.path()).unwrap();
        ws.target("x/y.json").publish(b"1").unwrap();
        let names = ws.store().list_dir("x").unwrap();
        assert_eq!(names, ["y.json"]);
    }
}
