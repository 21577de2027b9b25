//! The one way kart writes a local file whole: a hidden temporary sibling
//! (`.<name>.<random>.tmp`), then a rename, so a reader — or a process started after a
//! `kill -9` — sees the old content or the new one, never a part. Outputs add a no-clobber
//! rename and a lease check on top (`target::LocalStore::publish`); messages and the file-lock
//! fencing counters replace.

use std::io::Write;
use std::path::Path;

use tempfile::NamedTempFile;

/// A hidden temporary file beside `path`, named so it never matches an output and the
/// stale-temp sweep recognizes it ([`is_temp_file_name`]).
pub(crate) fn temp_beside(path: &Path) -> std::io::Result<NamedTempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
}

/// Replaces `path` with `data` atomically; `failpoint` names the moment between the write and
/// the rename, for fault tests.
pub(crate) fn replace(path: &Path, data: &[u8], failpoint: &str) -> std::io::Result<()> {
    let mut tmp = temp_beside(path)?;
    tmp.write_all(data)?;
    crate::failpoint::hit(failpoint);
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether `name` looks like one of kart's temporary files: `.<output name>.<random>.tmp`.
pub fn is_temp_file_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    inner.rsplit_once('.').is_some_and(|(output, random)| {
        !output.is_empty() && random.len() == 6 && random.chars().all(|c| c.is_ascii_alphanumeric())
    })
}
