//! File locks (`flock`) under `<workspace>/.kart/locks`: the embedded default, for processes
//! on one machine. The kernel releases a lock when its process dies, so a `kill -9` never
//! leaves one behind. Lock files are never removed on release (a waiter may hold the file
//! open); a holder notices when its file was removed or replaced (`locks clear`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{now_ms, CommitCheck, Holder, Lease, LockBackend, LockInfo};
use crate::error::{Error, Result};

/// How often a waiter looks at a file lock again.
const POLL: Duration = Duration::from_millis(2);

#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    key: String,
    holder: Holder,
    since_ms: u64,
    fence: u64,
}

/// File locks in one directory.
#[derive(Debug)]
pub struct FileBackend {
    dir: PathBuf,
    /// Open, locked files by owner token; dropping one releases its lock.
    held: Mutex<HashMap<String, File>>,
}

/// Whether the lock file at `path` is held only by readers (shared locks), not by a holder.
fn only_readers(path: &Path) -> bool {
    File::open(path).is_ok_and(|probe| probe.try_lock_shared().is_ok())
}

/// The number in a counter file, if it holds one.
fn read_counter(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl FileBackend {
    /// Locks in `dir` (created if needed).
    pub fn new(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io("cannot create lock directory", &dir, e))?;
        Ok(FileBackend {
            dir,
            held: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir
            .join(format!("{}.{ext}", crate::keys::lock_file_name(key)))
    }

    fn io(&self, path: &Path, e: std::io::Error) -> Error {
        Error::io("lock file", path, e)
    }

    /// Increments the key's fencing counter (called with the lock held).
    fn next_fence(&self, key: &str) -> Result<u64> {
        let path = self.path(key, "fence");
        let next = read_counter(&path).unwrap_or(0) + 1;
        self.write_counter(&path, next)?;
        Ok(next)
    }

    /// Replaces a counter file whole: a `kill -9` mid-write must never leave it empty, which
    /// would restart the fencing tokens and make every later commit look stale.
    fn write_counter(&self, path: &Path, value: u64) -> Result<()> {
        crate::atomic_file::replace(path, value.to_string().as_bytes(), "fence-written")
            .map_err(|e| self.io(path, e))
    }

    /// The record of the lock file at `path` while someone holds it. A holder caught between
    /// taking the lock and writing its record still holds it: with `key` known, that is a lock
    /// whose holder is not known yet.
    fn read_held(&self, path: &Path, key: Option<&str>) -> Result<Option<LockInfo>> {
        let Ok(mut file) = File::open(path) else {
            return Ok(None);
        };
        match file.try_lock_shared() {
            // Free: nobody holds it (our shared lock goes away with the file).
            Ok(()) => return Ok(None),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(self.io(path, e)),
        }
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        Ok(match serde_json::from_str::<Record>(&text) {
            Ok(r) => Some(LockInfo {
                key: r.key,
                holder: Some(r.holder),
                age: Some(Duration::from_millis(now_ms().saturating_sub(r.since_ms))),
                ttl: None,
                fence: Some(r.fence),
            }),
            Err(_) => key.map(|key| LockInfo {
                key: key.to_string(),
                holder: None,
                age: None,
                ttl: None,
                fence: None,
            }),
        })
    }

    fn holds(&self, key: &str, lease: &Lease) -> bool {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(&lease.token)
            .is_some_and(|f| same_file(f, &self.path(key, "lock")))
    }
}

impl LockBackend for FileBackend {
    fn describe(&self) -> String {
        format!("file locks in {}", self.dir.display())
    }

    fn distributed(&self) -> bool {
        false
    }

    fn try_acquire(&self, key: &str, _ttl: Duration, holder: &Holder) -> Result<Option<Lease>> {
        let path = self.path(key, "lock");
        let mut readers = 0;
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| self.io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                // Someone only looking (`info`, `locks list`) holds a shared lock for a moment:
                // that is no holder, so try again.
                Err(TryLockError::WouldBlock) if readers < 1000 && only_readers(&path) => {
                    readers += 1;
                    std::thread::yield_now();
                    continue;
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(self.io(&path, e)),
            }
            // The file may have been cleared between open and lock: then this lock guards
            // nothing; start over on the current file.
            if !same_file(&file, &path) {
                continue;
            }
            let fence = self.next_fence(key)?;
            let record = Record {
                key: key.to_string(),
                holder: holder.clone(),
                since_ms: now_ms(),
                fence,
            };
            file.set_len(0)
                .and_then(|()| file.rewind())
                .map_err(|e| self.io(&path, e))?;
            file.write_all(&serde_json::to_vec(&record).expect("records serialize"))
                .map_err(|e| self.io(&path, e))?;
            let token = super::new_token();
            self.held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(token.clone(), file);
            return Ok(Some(Lease { token, fence }));
        }
    }

    fn acquire_until(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        _place: &str,
        deadline: Instant,
    ) -> Result<Option<Lease>> {
        loop {
            if let Some(lease) = self.try_acquire(key, ttl, holder)? {
                return Ok(Some(lease));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(POLL.min(deadline - now));
        }
    }

    fn extend(&self, key: &str, lease: &Lease, _ttl: Duration) -> Result<bool> {
        Ok(self.holds(key, lease))
    }

    fn release(&self, key: &str, lease: &Lease) -> Result<bool> {
        let still_ours = self.holds(key, lease);
        // Dropping the file closes it, which releases the lock.
        let file = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&lease.token);
        Ok(file.is_some() && still_ours)
    }

    fn commit(&self, key: &str, lease: &Lease, target: &str) -> Result<CommitCheck> {
        if !self.holds(key, lease) {
            return Ok(CommitCheck::Lost);
        }
        let path = self.path(&format!("committed:{target}"), "fence");
        if read_counter(&path).is_some_and(|last| last > lease.fence) {
            return Ok(CommitCheck::Stale);
        }
        self.write_counter(&path, lease.fence)?;
        Ok(CommitCheck::Ok)
    }

    fn list(&self) -> Result<Vec<LockInfo>> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| self.io(&self.dir, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) == Some("lock") {
                out.extend(self.read_held(&path, None)?);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn info(&self, key: &str) -> Result<Option<LockInfo>> {
        self.read_held(&self.path(key, "lock"), Some(key))
    }

    fn clear(&self, key: &str) -> Result<bool> {
        let path = self.path(key, "lock");
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io(&path, e)),
        }
    }

    fn note(&self, key: &str, text: &str, _ttl: Duration) -> Result<()> {
        let path = self.path(key, "note");
        crate::atomic_file::replace(&path, text.as_bytes(), "note-written")
            .map_err(|e| self.io(&path, e))
    }

    fn read_note(&self, key: &str) -> Result<Option<String>> {
        let path = self.path(key, "note");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(&path, e)),
        }
    }
}
