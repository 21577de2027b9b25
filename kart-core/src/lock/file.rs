//! File locks (`flock`) under `<workspace>/.kart/locks`: the embedded default, for processes
//! on one machine. The kernel releases a lock when its process dies, so a `kill -9` never
//! leaves one behind. Lock files are never removed on release (a waiter may hold the file
//! open); a holder notices when its file was replaced (`locks clear`).
//!
//! A lock file holds its last holder's record, fencing token included, so counting the next
//! token costs no file of its own: a holder reads the last token and writes its record over
//! it. (Workspaces from before kept the counter in a `.fence` file beside; it is read when a
//! lock file has no record.)

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

/// The first record in a lock file's bytes, whatever follows it.
fn first_record(bytes: &[u8]) -> Option<Record> {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Record>()
        .next()?
        .ok()
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

    /// The next fencing token of `key`, whose lock file `file` this process holds (one more
    /// than its last holder's), and how long the file is.
    fn next_fence(&self, key: &str, file: &mut File) -> Result<(u64, usize)> {
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|e| self.io(&self.path(key, "lock"), e))?;
        let last = match first_record(&text) {
            Some(r) => r.fence,
            // A new lock file, or one from before records kept the counter.
            None => read_counter(&self.path(key, "fence")).unwrap_or(0),
        };
        Ok((last + 1, text.len()))
    }

    /// Writes `record` over the lock file's last one, `was` bytes long. One `write` from the
    /// start, then the file cut to its length if the last one was longer: a holder killed
    /// between the two leaves its whole record first, and [`first_record`] reads past what is
    /// left of the longer one before. (Cutting a file no longer than the record would only
    /// update its times: one more journalled write per claim on a disk.)
    fn write_record(&self, file: &mut File, record: &Record, was: usize) -> Result<()> {
        let path = self.path(&record.key, "lock");
        let bytes = serde_json::to_vec(record).expect("records serialize");
        file.rewind()
            .and_then(|()| file.write_all(&bytes))
            .map_err(|e| self.io(&path, e))?;
        crate::failpoint::hit("fence-written");
        match was > bytes.len() {
            true => file
                .set_len(bytes.len() as u64)
                .map_err(|e| self.io(&path, e)),
            false => Ok(()),
        }
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
        let mut text = Vec::new();
        let _ = file.read_to_end(&mut text);
        Ok(match first_record(&text) {
            Some(r) => Some(LockInfo {
                key: r.key,
                holder: Some(r.holder),
                age: Some(Duration::from_millis(now_ms().saturating_sub(r.since_ms))),
                ttl: None,
                fence: Some(r.fence),
            }),
            None => key.map(|key| LockInfo {
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
            let (fence, was) = self.next_fence(key, &mut file)?;
            let record = Record {
                key: key.to_string(),
                holder: holder.clone(),
                since_ms: now_ms(),
                fence,
            };
            self.write_record(&mut file, &record, was)?;
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

    /// Holding the flock of the key's current lock file proves that no other holder of the
    /// key exists now, and every earlier one had a smaller token: a commit needs no counter
    /// file of its own (a file per output, which made a first run of a million tasks grow
    /// 1.5× per task). A holder whose file was cleared has lost the lock.
    fn commit(&self, key: &str, lease: &Lease, _target: &str) -> Result<CommitCheck> {
        Ok(match self.holds(key, lease) {
            true => CommitCheck::Ok,
            false => CommitCheck::Lost,
        })
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

    /// Replaces the lock file with a free one carrying the same last record (so the fencing
    /// tokens go on from it); its holder, if any, finds its file replaced and the lock lost.
    fn clear(&self, key: &str) -> Result<bool> {
        let path = self.path(key, "lock");
        let last = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.io(&path, e)),
        };
        let kept = match first_record(&last) {
            Some(record) => serde_json::to_vec(&record).expect("records serialize"),
            None => Vec::new(),
        };
        crate::atomic_file::replace(&path, &kept, "lock-cleared").map_err(|e| self.io(&path, e))?;
        Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder::this_process(None)
    }

    #[test]
    fn tokens_go_on_from_the_last_record_and_from_a_counter_file_of_before() {
        let dir = tempfile::tempdir().unwrap();
        let locks = FileBackend::new(dir.path().to_path_buf()).unwrap();
        let ttl = Duration::from_secs(10);
        let take = |key: &str| {
            let lease = locks.try_acquire(key, ttl, &holder()).unwrap().unwrap();
            locks.release(key, &lease).unwrap();
            lease.fence
        };
        assert_eq!((take("a"), take("a"), take("a")), (1, 2, 3));
        // A workspace from before: an empty lock file, the counter beside it.
        std::fs::write(locks.path("b", "lock"), "").unwrap();
        std::fs::write(locks.path("b", "fence"), "7").unwrap();
        assert_eq!((take("b"), take("b")), (8, 9));
        // Cleared: the tokens go on.
        assert!(locks.clear("a").unwrap());
        assert_eq!(take("a"), 4);
        assert!(!locks.clear("never-taken").unwrap());
    }

    #[test]
    fn a_commit_stands_while_the_lock_file_is_the_holders_and_is_lost_once_it_was_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let locks = FileBackend::new(dir.path().to_path_buf()).unwrap();
        let ttl = Duration::from_secs(10);
        let a = locks.try_acquire("k", ttl, &holder()).unwrap().unwrap();
        assert!(matches!(
            locks.commit("k", &a, "out").unwrap(),
            CommitCheck::Ok
        ));
        assert!(locks.clear("k").unwrap());
        let b = locks.try_acquire("k", ttl, &holder()).unwrap().unwrap();
        assert!(b.fence > a.fence);
        assert!(matches!(
            locks.commit("k", &a, "out").unwrap(),
            CommitCheck::Lost
        ));
        assert!(matches!(
            locks.commit("k", &b, "out").unwrap(),
            CommitCheck::Ok
        ));
        // Nothing but the lock file is kept.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
