//! Where outputs are kept: the [`Store`] trait (whole-object publish, read, head, list one
//! prefix; files and directories published from a staged copy), with a backend per kind of
//! storage: [`local`] (a directory) and [`object`] (`s3://`, `gs://`, `az://`). Every write
//! is atomic, and a committed output is never replaced.
//!
//! A key ending in `/` names a directory output: complete once the whole directory is in
//! place (locally, renamed into place; on object storage, once its `_SUCCESS` marker is
//! written, last).

pub mod local;
pub mod object;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The check a publish runs once the data is durable, immediately before it becomes visible;
/// its error abandons the write.
pub type LastCheck<'a> = &'a mut dyn FnMut() -> Result<()>;

/// What writes an object's bytes out, for [`Store::publish_from`].
pub type Writer<'a> = &'a mut dyn FnMut(&mut (dyn std::io::Write + Send)) -> Result<()>;

/// Storage behind a workspace. Keys are `/`-separated relative paths.
pub trait Store: Send + Sync + fmt::Debug {
    /// Full location of a key, for messages (a path or URL).
    fn location(&self, key: &str) -> String;
    /// Whether the object exists.
    fn exists(&self, key: &str) -> Result<bool>;
    /// The whole object.
    fn read(&self, key: &str) -> Result<Vec<u8>>;
    /// Publishes the object `write` writes, unless one is already there (the first commit
    /// wins, and a committed output is never replaced): readers see nothing or the whole
    /// object, never a part. `before` runs once the data is durable, immediately before it
    /// becomes visible; its error abandons the write (a holder that lost its lock must not
    /// publish). A local store streams `write` into the temporary file.
    fn publish_from(
        &self,
        key: &str,
        write: Writer<'_>,
        before: LastCheck<'_>,
    ) -> Result<Published>;
    /// [`Store::publish_from`] of bytes at hand.
    fn publish(&self, key: &str, data: &[u8], before: LastCheck<'_>) -> Result<Published> {
        self.publish_from(
            key,
            &mut |out| {
                out.write_all(data)
                    .map_err(|e| Error::io("cannot write", key, e))
            },
            before,
        )
    }
    /// Publishes the finished file `file` (staged by [`crate::output`]) as `key`, unless an
    /// output is already there; `before` as in [`Store::publish`]. The staged file is gone
    /// afterwards either way.
    fn publish_file(&self, key: &str, file: &Path, before: LastCheck<'_>) -> Result<Published>;
    /// Publishes the finished directory `dir` (staged by [`crate::output`]) as the directory
    /// output `key` (ending in `/`), unless one is already there: never half-filled, never
    /// a mix of two writers' files.
    fn publish_dir(&self, key: &str, dir: &Path, before: LastCheck<'_>) -> Result<Published>;
    /// Where the output at `key` is on this machine's filesystem, when the store is local
    /// (dependents then read it in place).
    fn local_path(&self, key: &str) -> Option<PathBuf> {
        let _ = key;
        None
    }
    /// The size of the object at `key`, in bytes.
    fn head_size(&self, key: &str) -> Result<u64>;
    /// Copies the file output `key` to the local file `to`, streaming (object storage).
    fn download(&self, key: &str, to: &Path) -> Result<()>;
    /// The objects under the directory output `key`, keys relative to it (its marker too).
    fn list_under(&self, key: &str) -> Result<Vec<ObjectInfo>>;
    /// Removes the output (for a directory key, the whole directory, so that it is no
    /// longer complete first); absent is fine.
    fn remove(&self, key: &str) -> Result<()>;
    /// Calls `each` with the name of every object directly under `dir` (`""` for the root),
    /// as the store holds it: bytes, as checking that each of a listing's hundreds of
    /// thousands of names is UTF-8 would cost more than comparing them with keys (which a name
    /// that is not UTF-8 never matches). An absent dir has none.
    fn visit_dir(&self, dir: &str, each: &mut dyn FnMut(&[u8])) -> Result<()>;
    /// Calls `each` with `name/` for every complete directory output directly under `dir`:
    /// what a range needs to decide directory outputs from one listing.
    fn visit_complete_dirs(&self, dir: &str, each: &mut dyn FnMut(&str)) -> Result<()>;
    /// Roughly how many entries `dir` holds, when the store can tell without listing it; the
    /// scheduler lists a directory only when it wants a good share of it.
    fn entries_hint(&self, dir: &str) -> Option<u64> {
        let _ = dir;
        None
    }
    /// Names of the objects directly under `dir`, collected from [`Store::visit_dir`] (names
    /// that are not UTF-8 left out).
    fn list_dir(&self, dir: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        self.visit_dir(dir, &mut |name| {
            if let Ok(name) = std::str::from_utf8(name) {
                names.push(name.to_string());
            }
        })?;
        Ok(names)
    }
    /// Every output in the store (kart's own hidden state and temporary files left out).
    fn list_all(&self) -> Result<Vec<ObjectInfo>>;
    /// Requests sent so far, for stores that send them (object storage).
    fn remote_requests(&self) -> Option<&RequestCounts> {
        None
    }
}

/// Runs a publish's `before` check: the last thing between durable data and a visible
/// output, for every store (the failpoints let fault tests freeze a writer on either side).
pub(crate) fn last_check(before: LastCheck<'_>) -> Result<()> {
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

/// The name of the marker a directory output's completeness rests on in object storage
/// (Hadoop's and Spark's convention): written last, and only if absent.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// The key of the marker of the directory output `dir_key` (which ends in `/`).
pub(crate) fn marker_key(dir_key: &str) -> String {
    format!("{dir_key}{SUCCESS_MARKER}")
}

/// Whether `key` names a directory output.
pub fn is_dir_key(key: &str) -> bool {
    key.ends_with('/')
}

/// Rejects keys that would escape the workspace or are not plain relative paths (one
/// trailing `/` marks a directory output).
pub(crate) fn check_key(key: &str) -> std::result::Result<(), String> {
    let key = key.strip_suffix('/').unwrap_or(key);
    if key.is_empty() {
        return Err("empty path".into());
    }
    if key.starts_with('/') {
        return Err("must be a relative path with `/` separators".into());
    }
    // One pass over the bytes: range completeness runs this on hundreds of thousands of keys,
    // and most are short enough that searching for each separator costs more (and a table
    // lookup per byte, a chain of loads, twice as much). `run` is what the current component
    // is so far: empty (0), `.` (1), `..` (2) or anything else (3).
    let mut run = 0u8;
    for &b in key.as_bytes() {
        // Letters and digits first: they sort above `/`, as only `\\` of the bytes that
        // matter does.
        if b > b'/' && b != b'\\' {
            run = 3;
            continue;
        }
        match b {
            b'/' if run < 3 => return Err("must not contain empty, `.` or `..` components".into()),
            b'/' => run = 0,
            b'.' => run += u8::from(run < 3),
            b'\\' => return Err("must be a relative path with `/` separators".into()),
            _ => run = 3,
        }
    }
    if run < 3 {
        return Err("must not contain empty, `.` or `..` components".into());
    }
    Ok(())
}

/// Requests sent to the store so far, by kind (for `-v` logs, events and benchmarks).
#[derive(Debug, Default)]
pub struct RequestCounts {
    /// Existence checks.
    pub head: AtomicU64,
    /// Reads.
    pub get: AtomicU64,
    /// Writes.
    pub put: AtomicU64,
    /// Listings (one per listed directory; the store may fetch it in several pages).
    pub list: AtomicU64,
    /// Deletions.
    pub delete: AtomicU64,
}

impl RequestCounts {
    /// `(kind, count)` pairs.
    pub fn snapshot(&self) -> [(&'static str, u64); 5] {
        [
            ("head", self.head.load(Ordering::Relaxed)),
            ("get", self.get.load(Ordering::Relaxed)),
            ("put", self.put.load(Ordering::Relaxed)),
            ("list", self.list.load(Ordering::Relaxed)),
            ("delete", self.delete.load(Ordering::Relaxed)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        for good in [
            "a/b.json",
            "a",
            "..a/b.",
            "a/.b/c..d",
            "a/b/",
            "...",
            "a/.../b",
        ] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/", "/etc/x", "a/../b", "a//b", "./a", "a\\b", "a//", "a/..", "a/.", ".", "..",
            "../", "a/./b",
        ] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_pass_finds_what_splitting_into_components_finds() {
        // Component by component, the first fault by position.
        let by_components = |key: &str| -> std::result::Result<(), String> {
            let key = key.strip_suffix('/').unwrap_or(key);
            if key.is_empty() {
                return Err("empty path".into());
            }
            if key.starts_with('/') {
                return Err("must be a relative path with `/` separators".into());
            }
            for component in key.split('/') {
                if component.contains('\\') {
                    return Err("must be a relative path with `/` separators".into());
                }
                if matches!(component, "" | "." | "..") {
                    return Err("must not contain empty, `.` or `..` components".into());
                }
            }
            Ok(())
        };
        // Every path of up to 7 bytes over `a`, `.`, `/` and `\\`, alone and after a prefix.
        for len in 0..=7u32 {
            for mut n in 0..4usize.pow(len) {
                let path: String = (0..len)
                    .map(|_| {
                        let c = ['a', '.', '/', '\\'][n % 4];
                        n /= 4;
                        c
                    })
                    .collect();
                for prefix in ["", "daily/D07/"] {
                    let key = format!("{prefix}{path}");
                    assert_eq!(check_key(&key), by_components(&key), "{key}");
                }
            }
        }
    }
}
