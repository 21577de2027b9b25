//! The [`Workspace`] a run writes to — a directory or a bucket, over a [`Store`] — and the
//! [`Target`] of one output.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::Digest;

use crate::error::{Error, Result};
use crate::store::local::LocalStore;
use crate::store::object::{self, ObjectStoreWorkspace};
use crate::store::{Published, Store};

/// The place all outputs of a run are written to.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let ws = kart_core::Workspace::local(dir.path()).unwrap();
/// use kart_core::store::Published;
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
    /// (`s3://bucket/prefix`, `gs://…`, `az://…`; see [`crate::store::object`]).
    pub fn open(location: &str, fsync: bool) -> Result<Self> {
        Self::open_with(location, fsync, object::DEFAULT_PART_SIZE)
    }

    /// Like [`open`](Self::open), with the part size of multipart uploads to object storage.
    pub fn open_with(location: &str, fsync: bool, part_size: usize) -> Result<Self> {
        if object::is_remote(location) {
            let store = ObjectStoreWorkspace::open_with(location, part_size)?;
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
        if object::is_remote(location) {
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
        let canonical = if object::is_remote(location) {
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
        !object::is_remote(&self.root)
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
        before: crate::store::LastCheck<'_>,
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
