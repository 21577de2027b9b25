//! The local store: outputs are files and directories under a directory, written through a
//! hidden temporary sibling that its writer holds locked, fsynced, and renamed into place
//! without replacing anything; and the sweep of temporaries a killed writer left behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{
    is_dir_key, last_check, LastCheck, ObjectInfo, Published, Store, Writer, SUCCESS_MARKER,
};
use crate::error::{Error, Result};

pub use crate::atomic_file::is_temp_file_name;

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
        if std::fs::metadata(&root).is_ok_and(|m| !m.is_dir()) {
            return Err(Error::InvalidOption {
                what: "workspace".into(),
                message: format!("{} is not a directory", root.display()),
            });
        }
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
        self.root.join(key.trim_end_matches('/'))
    }
}

/// How a rename into place ended.
fn placed(renamed: std::io::Result<()>, path: &Path) -> Result<Published> {
    match renamed {
        Ok(()) => Ok(Published::Written),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Published::AlreadyThere),
        Err(e) => Err(Error::io("cannot rename into place", path, e)),
    }
}

impl Store for LocalStore {
    fn location(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    /// A directory output is complete once it is there at all: it only ever appears whole,
    /// by a rename.
    fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key);
        match std::fs::metadata(&path) {
            Ok(meta) => Ok(meta.is_dir() == is_dir_key(key)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(false),
            Err(e) => Err(Error::io("cannot check", path, e)),
        }
    }

    fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key);
        std::fs::read(&path).map_err(|e| Error::io("cannot read", path, e))
    }

    fn publish_from(
        &self,
        key: &str,
        write: Writer<'_>,
        before: LastCheck<'_>,
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
        {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            write(&mut out)?;
            out.flush()
                .map_err(|e| Error::io("cannot write", &path, e))?;
        }
        if self.fsync {
            tmp.as_file()
                .sync_all()
                .map_err(|e| Error::io("cannot sync", &path, e))?;
        }
        last_check(before)?;
        // An output that appeared meanwhile is kept; ours is dropped with `tmp`.
        placed(
            crate::atomic_file::rename_noreplace(tmp.path(), &path),
            &path,
        )
    }

    fn publish_file(&self, key: &str, file: &Path, before: LastCheck<'_>) -> Result<Published> {
        let path = self.path(key);
        let result = (|| {
            if self.fsync {
                // The task may have written through another handle, or replaced the file.
                std::fs::File::open(file)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::NotFound => Error::msg(format!(
                            "the task did not leave its output file at {}",
                            file.display()
                        )),
                        _ => Error::io("cannot sync", file, e),
                    })?;
            }
            last_check(before)?;
            placed(crate::atomic_file::rename_noreplace(file, &path), &path)
        })();
        if result
            .as_ref()
            .map_or(true, |p| *p == Published::AlreadyThere)
        {
            let _ = std::fs::remove_file(file);
        }
        result
    }

    fn publish_dir(&self, key: &str, dir: &Path, before: LastCheck<'_>) -> Result<Published> {
        let path = self.path(key);
        let result = (|| {
            // The marker, for tools that look for one; completeness here is the rename.
            std::fs::write(dir.join(SUCCESS_MARKER), b"")
                .map_err(|e| Error::io("cannot write the marker of", &path, e))?;
            if self.fsync {
                crate::atomic_file::sync_tree(dir).map_err(|e| Error::io("cannot sync", dir, e))?;
            }
            last_check(before)?;
            placed(crate::atomic_file::rename_noreplace(dir, &path), &path)
        })();
        if result
            .as_ref()
            .map_or(true, |p| *p == Published::AlreadyThere)
        {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }

    fn local_path(&self, key: &str) -> Option<PathBuf> {
        Some(self.path(key))
    }

    fn head_size(&self, key: &str) -> Result<u64> {
        let path = self.path(key);
        std::fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|e| Error::io("cannot inspect", path, e))
    }

    fn download(&self, key: &str, to: &Path) -> Result<()> {
        let path = self.path(key);
        std::fs::copy(&path, to)
            .map(drop)
            .map_err(|e| Error::io("cannot copy", path, e))
    }

    fn list_under(&self, key: &str) -> Result<Vec<ObjectInfo>> {
        list_files(&self.path(key), false)
    }

    /// A directory is first renamed aside (one atomic step: it is no longer complete), then
    /// deleted; a removal cut short leaves a temporary the sweep takes.
    fn remove(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        if is_dir_key(key) {
            let aside = match crate::atomic_file::temp_dir_beside(&path) {
                Ok(tmp) => tmp,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(Error::io("cannot remove", path, e)),
            };
            // Renaming over the fresh empty temporary replaces it.
            return match std::fs::rename(&path, aside.path()) {
                Ok(()) => {
                    drop(aside); // deletes the tree
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io("cannot remove", path, e)),
            };
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot remove", path, e)),
        }
    }

    fn visit_complete_dirs(&self, dir: &str, each: &mut dyn FnMut(&str)) -> Result<()> {
        let path = if dir.is_empty() {
            self.root.clone()
        } else {
            self.path(dir)
        };
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("cannot list", path, e)),
        };
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
                if !name.starts_with('.') {
                    each(&format!("{name}/"));
                }
            }
        }
        Ok(())
    }

    fn visit_dir(&self, dir: &str, each: &mut dyn FnMut(&[u8])) -> Result<()> {
        let path = if dir.is_empty() {
            self.root.clone()
        } else {
            self.path(dir)
        };
        visit_local_dir(&path, each).map_err(|e| Error::io("cannot list", path, e))
    }

    fn list_all(&self) -> Result<Vec<ObjectInfo>> {
        list_files(&self.root, true)
    }

    fn entries_hint(&self, dir: &str) -> Option<u64> {
        // A directory's size grows with its entries: 20 bytes each on tmpfs, a little more
        // on ext4, xfs and btrfs (names and headers), so this errs towards more entries.
        let path = if dir.is_empty() {
            self.root.clone()
        } else {
            self.path(dir)
        };
        std::fs::metadata(path).ok().map(|m| m.len() / 20)
    }
}

/// Every file under `top`, keys relative to it; with `skip_hidden`, hidden ones (kart's
/// state, temporaries) left out.
pub(crate) fn list_files(top: &Path, skip_hidden: bool) -> Result<Vec<ObjectInfo>> {
    let mut out = Vec::new();
    let mut dirs = vec![top.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("cannot list", &dir, e)),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if skip_hidden && entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(path),
                Ok(_) => {
                    let meta = entry
                        .metadata()
                        .map_err(|e| Error::io("cannot inspect", &path, e))?;
                    let key = path
                        .strip_prefix(top)
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

/// Lists a local directory without allocating per entry: range completeness reads hundreds of
/// thousands of names, and `std::fs::read_dir` copies each into its own allocation.
#[cfg(target_os = "linux")]
fn visit_local_dir(path: &Path, each: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    thread_local! {
        // 256 KiB: one getdents64 call returns thousands of names. Kept per thread, as a
        // fresh buffer per directory cost a page fault per 4 KiB.
        static BUF: std::cell::Cell<Vec<std::mem::MaybeUninit<u8>>> =
            const { std::cell::Cell::new(Vec::new()) };
    }
    // Taken out while in use, so a nested listing gets a buffer of its own.
    let mut buf = BUF.take();
    if buf.is_empty() {
        buf.resize(256 * 1024, std::mem::MaybeUninit::uninit());
    }
    let listed = read_raw_dir(fd, &mut buf, each);
    BUF.set(buf);
    listed
}

#[cfg(target_os = "linux")]
fn read_raw_dir(
    fd: rustix::fd::OwnedFd,
    buf: &mut [std::mem::MaybeUninit<u8>],
    each: &mut dyn FnMut(&[u8]),
) -> std::io::Result<()> {
    use rustix::fs::RawDir;
    let mut dir = RawDir::new(fd, buf);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            each(name);
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn visit_local_dir(path: &Path, each: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        each(entry?.file_name().as_encoded_bytes());
    }
    Ok(())
}

/// Temporary files and directories being written right now, so a forced exit can remove
/// them.
static IN_FLIGHT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A temporary registered for removal on a forced exit, while it lives.
pub(crate) struct InFlight(PathBuf);

impl InFlight {
    pub(crate) fn register(path: &Path) -> Self {
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

/// Removes the temporary files and directories this process is writing (for a forced exit,
/// where they would not be dropped). Returns how many were removed.
pub fn remove_in_flight_temp_files() -> usize {
    let list = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
    list.iter().filter(|p| remove_any(p).is_ok()).count()
}

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

/// Removes kart temporary files and directories under `root` last modified more than
/// `older_than` ago: what a process killed mid-write (`kill -9`) left behind. Returns the
/// paths removed.
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
            // A temporary directory (a directory output being filled) goes whole.
            let temp_dir = kind.is_dir() && is_temp_file_name(&name);
            if kind.is_dir() && !temp_dir {
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
            if stale && !being_written(&entry.path()) && remove_any(&entry.path()).is_ok() {
                removed.push(entry.path());
            }
        }
    }
    removed
}

/// Removes a file, or a directory with everything in it.
fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path)?.is_dir() {
        true => std::fs::remove_dir_all(path),
        false => std::fs::remove_file(path),
    }
}

/// Whether a live writer holds the lock of the temporary file (or directory) at `path`.
fn being_written(path: &Path) -> bool {
    match std::fs::File::open(path) {
        Ok(file) => matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_names_are_recognized() {
        assert!(is_temp_file_name(".2015-01-01.json.aB3dE9.tmp"));
        assert!(!is_temp_file_name("2015-01-01.json"));
        assert!(!is_temp_file_name(".hidden.tmp"));
        assert!(!is_temp_file_name("00.json.tmp"));
    }

    #[test]
    fn a_publish_leaves_only_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::create(dir.path(), true).unwrap();
        store.publish("x/y.json", b"1", &mut || Ok(())).unwrap();
        assert_eq!(store.list_dir("x").unwrap(), ["y.json"]);
    }
}
