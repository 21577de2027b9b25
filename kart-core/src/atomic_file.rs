//! The one way kart writes a local file or directory whole: a hidden temporary sibling
//! (`.<name>.<random>.tmp`), then a rename, so a reader — or a process started after a
//! `kill -9` — sees the old content or the new one, never a part. Outputs rename without
//! replacing anything ([`rename_noreplace`]) and add a lease check on top
//! (`store::local::LocalStore`); messages, lock notes and cleared lock files replace.

use std::io::Write;
use std::path::Path;

use tempfile::NamedTempFile;

/// A hidden temporary file beside `path`, named so it never matches an output and the
/// stale-temp sweep recognizes it ([`is_temp_file_name`]).
pub(crate) fn temp_beside(path: &Path) -> std::io::Result<NamedTempFile> {
    let (dir, prefix) = temp_name(path);
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
}

/// A hidden temporary directory beside `path`, named like [`temp_beside`]'s files.
pub(crate) fn temp_dir_beside(path: &Path) -> std::io::Result<tempfile::TempDir> {
    let (dir, prefix) = temp_name(path);
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempdir_in(dir)
}

/// The one rule for temporaries' names: `.<name>.` + random + `.tmp`, in `path`'s directory.
fn temp_name(path: &Path) -> (&Path, String) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, format!(".{name}."))
}

/// Renames `from` to `to` unless `to` exists (then fails with `AlreadyExists`), atomically:
/// `renameat2(RENAME_NOREPLACE)`, for files and directories alike.
#[cfg(target_os = "linux")]
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(std::io::Error::from)
}

/// Renames `from` to `to` unless `to` exists. Elsewhere than Linux the check and the rename
/// are two steps.
#[cfg(not(target_os = "linux"))]
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to)
}

/// fsyncs every file under `dir` and every directory, `dir` included, so a renamed tree is
/// durable whole.
pub(crate) fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            std::fs::File::open(entry.path())?.sync_all()?;
        }
    }
    std::fs::File::open(dir)?.sync_all()
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
