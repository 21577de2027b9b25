//! Workspaces on object storage (`s3://`, `gs://`, `az://`) through the `object_store` crate,
//! so outputs every machine must see live in one bucket while Redis coordinates.
//!
//! - An output is one `PUT` with "create only if absent" (`If-None-Match: *` on S3), so two
//!   machines racing on one output never clobber each other; the loser finds it complete.
//! - A file output larger than one part goes up as a multipart upload to a hidden temporary
//!   key, then is copied into place only if absent: it becomes visible whole, or not at all.
//! - A directory output is a prefix: its files go up first, then its `_SUCCESS` marker, only
//!   if absent; it is complete once the marker is there, and a lost race keeps the first
//!   writer's marker.
//! - Completeness is one `HEAD` per task; ranges list each directory once (`LIST` with a
//!   delimiter, paginated by the store), never one request per instance.
//! - Credentials and endpoints come from each provider's usual environment variables
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`;
//!   `GOOGLE_SERVICE_ACCOUNT`; `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, …).
//!   A plain-HTTP endpoint (a local test server) is allowed without further setting.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, RetryConfig, WriteMultipart};

use super::{
    is_dir_key, last_check, marker_key, LastCheck, ObjectInfo, Published, RequestCounts, Store,
    Writer, SUCCESS_MARKER,
};
use crate::error::{Error, Result};

/// Schemes served by object storage.
pub const SCHEMES: &[&str] = &["s3", "s3a", "gs", "az", "abfs", "abfss"];

/// Whether `location` names an object-storage workspace (`s3://bucket/prefix`, …).
pub fn is_remote(location: &str) -> bool {
    location
        .split_once("://")
        .is_some_and(|(scheme, _)| SCHEMES.contains(&scheme))
}

/// The async runtime object_store runs on; kart's workers block on it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kart-object-store")
            .enable_all()
            .build()
            .expect("the object-store runtime starts")
    })
}

/// The default size of one part of a multipart upload: 8 MiB.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;

/// Outputs under a prefix of a bucket.
pub struct ObjectStoreWorkspace {
    store: Arc<dyn ObjectStore>,
    url: String,
    prefix: ObjectPath,
    counts: RequestCounts,
    part_size: usize,
    /// Where requests go when a user set it (a local server, an emulator), for messages.
    endpoint: Option<String>,
}

impl std::fmt::Debug for ObjectStoreWorkspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectStoreWorkspace({})", self.url)
    }
}

/// Few, quick retries: an unreachable endpoint is reported in seconds, not minutes.
fn retries() -> RetryConfig {
    RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
        ..RetryConfig::default()
    }
}

impl ObjectStoreWorkspace {
    /// Connects to `url` (`s3://bucket/prefix`, `gs://…`, `az://container/prefix`) with
    /// credentials from the environment, and checks it can list the prefix, so a missing
    /// bucket, denied credentials or an unreachable endpoint are reported before any task runs.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, DEFAULT_PART_SIZE)
    }

    /// Like [`open`](Self::open), with the part size of multipart uploads (files larger than
    /// one part go up in parts).
    pub fn open_with(url: &str, part_size: usize) -> Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| Error::RemoteWorkspace {
            url: url.to_string(),
            message: format!("not a valid URL: {e}"),
        })?;
        let bucket_url = format!(
            "{}://{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default()
        );
        let fail = |message: String| Error::RemoteWorkspace {
            url: url.to_string(),
            message,
        };
        let (store, endpoint): (Arc<dyn ObjectStore>, Option<String>) = match parsed.scheme() {
            "s3" | "s3a" => {
                let endpoint = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                    .iter()
                    .find_map(|k| std::env::var(k).ok());
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(bucket_url.as_str())
                    .with_retry(retries())
                    // A large file is copied from its temporary key only if absent.
                    .with_copy_if_not_exists(object_store::aws::S3CopyIfNotExists::Multipart);
                if endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) {
                    builder = builder.with_allow_http(true);
                }
                let store = builder.build().map_err(|e| fail(build_error(&e)))?;
                (Arc::new(store), endpoint)
            }
            "gs" => {
                let builder = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(bucket_url.as_str())
                    .with_retry(retries());
                let endpoint = gcs_base_url(&builder);
                let store = builder.build().map_err(|e| fail(build_error(&e)))?;
                (Arc::new(store), endpoint)
            }
            "az" | "abfs" | "abfss" => {
                let builder = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url)
                    .with_retry(retries());
                let endpoint = azure_endpoint(&builder);
                let store = builder.build().map_err(|e| fail(build_error(&e)))?;
                (Arc::new(store), endpoint)
            }
            other => {
                return Err(fail(format!(
                    "unsupported scheme `{other}://`; expected a directory, file://, s3://, gs:// or az://"
                )))
            }
        };
        let prefix = ObjectPath::from(parsed.path().trim_matches('/'));
        let ws = ObjectStoreWorkspace {
            store,
            url: url.trim_end_matches('/').to_string(),
            prefix,
            counts: RequestCounts::default(),
            part_size,
            endpoint,
        };
        // One listing proves the endpoint, the bucket and the credentials.
        ws.list_dir("")?;
        Ok(ws)
    }

    /// Requests sent so far.
    pub fn requests(&self) -> &RequestCounts {
        &self.counts
    }

    fn path(&self, key: &str) -> ObjectPath {
        let key = key.trim_end_matches('/');
        if self.prefix.as_ref().is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn error(&self, what: &str, key: &str, e: object_store::Error) -> Error {
        Error::RemoteWorkspace {
            url: self.location(key),
            message: format!(
                "cannot {what}: {}",
                explain_error(&e.to_string(), self.endpoint.as_deref())
            ),
        }
    }
}

/// What went wrong, from an object store error's text: the provider's error codes first, then
/// HTTP statuses (as whole numbers: a port such as 34037 or a duration such as 403.2ms is not
/// a 403), then failures to connect to `endpoint`.
fn explain_error(text: &str, endpoint: Option<&str>) -> String {
    if text.contains("NoSuchBucket") {
        "the bucket does not exist".to_string()
    } else if text.contains("ContainerNotFound") {
        "the container does not exist".to_string()
    } else if [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "AuthenticationFailed",
        "AuthorizationFailure",
    ]
    .iter()
    .any(|code| text.contains(code))
        || has_number(text, "401")
        || has_number(text, "403")
    {
        format!(
            "access denied (check the credentials): {}",
            first_line(text)
        )
    } else if text.contains("error sending request") || text.contains("connect") {
        format!(
            "cannot reach the endpoint{}: {}",
            endpoint.map_or(String::new(), |e| format!(" {e}")),
            first_line(text)
        )
    } else {
        first_line(text).to_string()
    }
}

/// Whether `number` stands alone in `text`, not inside a longer number.
fn has_number(text: &str, number: &str) -> bool {
    let part_of_number = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    text.match_indices(number).any(|(at, _)| {
        !part_of_number(text[..at].chars().next_back())
            && !part_of_number(text[at + number.len()..].chars().next())
    })
}

impl ObjectStoreWorkspace {
    /// `PUT` of `data` at `key`, created only if absent when `create`.
    fn put(&self, key: &str, data: Vec<u8>, create: bool) -> Result<Published> {
        self.counts.put.fetch_add(1, Ordering::Relaxed);
        let opts = PutOptions {
            mode: if create {
                PutMode::Create
            } else {
                PutMode::Overwrite
            },
            ..PutOptions::default()
        };
        match runtime().block_on(self.store.put_opts(&self.path(key), data.into(), opts)) {
            Ok(_) => Ok(Published::Written),
            Err(object_store::Error::AlreadyExists { .. }) => {
                tracing::debug!("{} was written by another worker first", self.location(key));
                Ok(Published::AlreadyThere)
            }
            Err(e) => Err(self.error("write", key, e)),
        }
    }

    /// Uploads the local `file` to `key` (overwriting): one `PUT` up to one part, else a
    /// multipart upload, aborted on failure.
    fn upload(&self, key: &str, file: &Path) -> Result<()> {
        let size = std::fs::metadata(file)
            .map_err(|e| Error::io("cannot read", file, e))?
            .len();
        if size <= self.part_size as u64 {
            let data = std::fs::read(file).map_err(|e| Error::io("cannot read", file, e))?;
            return self.put(key, data, false).map(drop);
        }
        let mut source =
            std::fs::File::open(file).map_err(|e| Error::io("cannot read", file, e))?;
        self.counts.put.fetch_add(1, Ordering::Relaxed);
        let path = self.path(key);
        runtime().block_on(async {
            let upload = self
                .store
                .put_multipart(&path)
                .await
                .map_err(|e| self.error("upload", key, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            let mut buf = vec![0; self.part_size];
            loop {
                let n = match source.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(Error::io("cannot read", file, e));
                    }
                };
                if let Err(e) = writer.wait_for_capacity(4).await {
                    let _ = writer.abort().await;
                    return Err(self.error("upload", key, e));
                }
                writer.write(&buf[..n]);
            }
            writer
                .finish()
                .await
                .map(drop)
                .map_err(|e| self.error("upload", key, e))
        })
    }

    /// Every object under `key` (`""`: the whole workspace), keys relative to it: one
    /// listing, paginated by the store.
    fn list_tree(&self, key: &str) -> Result<Vec<ObjectInfo>> {
        self.counts.list.fetch_add(1, Ordering::Relaxed);
        let prefix = match key {
            "" => self.prefix.clone(),
            key => self.path(key),
        };
        let skip = prefix.as_ref().len() + usize::from(!prefix.as_ref().is_empty());
        let metas: Vec<object_store::ObjectMeta> = runtime()
            .block_on(self.store.list(Some(&prefix)).try_collect())
            .map_err(|e| self.error("list", key, e))?;
        Ok(metas
            .into_iter()
            .map(|m| ObjectInfo {
                key: m.location.as_ref()[skip..].to_string(),
                size: m.size,
                modified: std::time::SystemTime::from(m.last_modified),
            })
            .collect())
    }

    /// A hidden key beside `key` for an upload on its way in.
    fn temp_key(key: &str) -> String {
        let (dir, name) = key.rsplit_once('/').map_or(("", key), |(d, n)| (d, n));
        let random: String = rand::Rng::sample_iter(rand::rng(), &rand::distr::Alphanumeric)
            .take(6)
            .map(char::from)
            .collect();
        let temp = format!(".{name}.{random}.tmp");
        match dir {
            "" => temp,
            dir => format!("{dir}/{temp}"),
        }
    }
}

/// A credentials problem found before any request (a key that does not parse, say) reads as
/// one; its text names the problem, never the secret.
fn build_error(e: &object_store::Error) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("credential") || lower.contains("key") {
        format!("bad credentials: {}", first_line(&text))
    } else {
        first_line(&text).to_string()
    }
}

/// The base URL a GCS service-account key points at (`gcs_base_url`, set for emulators).
fn gcs_base_url(builder: &object_store::gcp::GoogleCloudStorageBuilder) -> Option<String> {
    use object_store::gcp::GoogleConfigKey;
    let key = builder
        .get_config_value(&GoogleConfigKey::ServiceAccountKey)
        .or_else(|| {
            builder
                .get_config_value(&GoogleConfigKey::ServiceAccount)
                .and_then(|path| std::fs::read_to_string(path).ok())
        })?;
    let value: serde_json::Value = serde_json::from_str(&key).ok()?;
    value["gcs_base_url"].as_str().map(str::to_string)
}

/// The blob endpoint of an Azure workspace: Azurite's when the emulator is asked for,
/// else one set explicitly.
fn azure_endpoint(builder: &object_store::azure::MicrosoftAzureBuilder) -> Option<String> {
    use object_store::azure::AzureConfigKey;
    if builder
        .get_config_value(&AzureConfigKey::UseEmulator)
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    {
        return Some(
            std::env::var("AZURITE_BLOB_STORAGE_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:10000".to_string()),
        );
    }
    builder.get_config_value(&AzureConfigKey::Endpoint)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

impl Store for ObjectStoreWorkspace {
    fn location(&self, key: &str) -> String {
        if key.is_empty() {
            self.url.clone()
        } else {
            format!("{}/{key}", self.url)
        }
    }

    /// A directory output exists once its marker does.
    fn exists(&self, key: &str) -> Result<bool> {
        self.counts.head.fetch_add(1, Ordering::Relaxed);
        let marker;
        let key = match is_dir_key(key) {
            true => {
                marker = marker_key(key);
                &marker
            }
            false => key,
        };
        match runtime().block_on(self.store.head(&self.path(key))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error("check", key, e)),
        }
    }

    fn read(&self, key: &str) -> Result<Vec<u8>> {
        self.counts.get.fetch_add(1, Ordering::Relaxed);
        let path = self.path(key);
        runtime()
            .block_on(async {
                let got = self.store.get(&path).await?;
                got.bytes().await
            })
            .map(|b| b.to_vec())
            .map_err(|e| self.error("read", key, e))
    }

    /// One `PUT`, created only if absent: a lost race means someone else wrote the output,
    /// which is then complete.
    fn publish_from(
        &self,
        key: &str,
        write: Writer<'_>,
        before: LastCheck<'_>,
    ) -> Result<Published> {
        let mut data = Vec::new();
        write(&mut data)?;
        last_check(before)?;
        self.put(key, data, true)
    }

    /// Up to one part: one conditional `PUT`. Larger: a multipart upload to a hidden key,
    /// then a copy into place only if absent, so the output appears whole or not at all.
    fn publish_file(&self, key: &str, file: &Path, before: LastCheck<'_>) -> Result<Published> {
        let result = (|| {
            let size = std::fs::metadata(file)
                .map_err(|e| Error::io("cannot read the output file", file, e))?
                .len();
            if size <= self.part_size as u64 {
                let data = std::fs::read(file).map_err(|e| Error::io("cannot read", file, e))?;
                return self.publish(key, &data, before);
            }
            let temp = Self::temp_key(key);
            let placed = self.upload(&temp, file).and_then(|()| {
                last_check(before)?;
                self.counts.put.fetch_add(1, Ordering::Relaxed);
                let copied = runtime().block_on(
                    self.store
                        .copy_if_not_exists(&self.path(&temp), &self.path(key)),
                );
                match copied {
                    Ok(()) => Ok(Published::Written),
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(Published::AlreadyThere),
                    Err(e) => Err(self.error("write", key, e)),
                }
            });
            let _ = self.remove(&temp);
            placed
        })();
        let _ = std::fs::remove_file(file);
        result
    }

    /// The files first, then the marker, only if absent.
    fn publish_dir(&self, key: &str, dir: &Path, before: LastCheck<'_>) -> Result<Published> {
        let result = (|| {
            if self.exists(key)? {
                return Ok(Published::AlreadyThere);
            }
            for f in super::local::list_files(dir, false)? {
                if f.key != SUCCESS_MARKER {
                    self.upload(&format!("{key}{}", f.key), &dir.join(&f.key))?;
                }
            }
            last_check(before)?;
            // Empty, as Hadoop's and Spark's markers are: its existence is the whole message.
            self.put(&marker_key(key), Vec::new(), true)
        })();
        let _ = std::fs::remove_dir_all(dir);
        result
    }

    fn head_size(&self, key: &str) -> Result<u64> {
        self.counts.head.fetch_add(1, Ordering::Relaxed);
        runtime()
            .block_on(self.store.head(&self.path(key)))
            .map(|meta| meta.size)
            .map_err(|e| self.error("check", key, e))
    }

    /// Streams the object into a temporary beside `to`, then renames it into place.
    fn download(&self, key: &str, to: &Path) -> Result<()> {
        self.counts.get.fetch_add(1, Ordering::Relaxed);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("cannot create directory", parent, e))?;
        }
        let mut tmp = crate::atomic_file::temp_beside(to)
            .map_err(|e| Error::io("cannot create temporary file for", to, e))?;
        let path = self.path(key);
        runtime().block_on(async {
            let got = self
                .store
                .get(&path)
                .await
                .map_err(|e| self.error("read", key, e))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream
                .try_next()
                .await
                .map_err(|e| self.error("read", key, e))?
            {
                tmp.write_all(&chunk)
                    .map_err(|e| Error::io("cannot write", to, e))?;
            }
            Ok::<(), Error>(())
        })?;
        tmp.persist(to)
            .map_err(|e| Error::io("cannot rename into place", to, e.error))?;
        Ok(())
    }

    fn list_under(&self, key: &str) -> Result<Vec<ObjectInfo>> {
        self.list_tree(key)
    }

    /// A directory loses its marker first: it stops being complete before any file goes.
    fn remove(&self, key: &str) -> Result<()> {
        if is_dir_key(key) {
            self.remove(&marker_key(key))?;
            for object in self.list_under(key)? {
                self.remove(&format!("{key}{}", object.key))?;
            }
            return Ok(());
        }
        self.counts.delete.fetch_add(1, Ordering::Relaxed);
        match runtime().block_on(self.store.delete(&self.path(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("remove", key, e)),
        }
    }

    /// One listing of everything under `dir`, keeping the markers one level down.
    fn visit_complete_dirs(&self, dir: &str, each: &mut dyn FnMut(&str)) -> Result<()> {
        for object in self.list_tree(dir)? {
            if let Some((name, SUCCESS_MARKER)) = object.key.split_once('/') {
                each(&format!("{name}/"));
            }
        }
        Ok(())
    }

    fn visit_dir(&self, dir: &str, each: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.counts.list.fetch_add(1, Ordering::Relaxed);
        let prefix = if dir.is_empty() {
            self.prefix.clone()
        } else {
            self.path(dir)
        };
        let listed = runtime()
            .block_on(self.store.list_with_delimiter(Some(&prefix)))
            .map_err(|e| self.error("list", dir, e))?;
        for path in listed.objects.iter().map(|o| &o.location) {
            if let Some(name) = path.filename() {
                each(name.as_bytes());
            }
        }
        for path in &listed.common_prefixes {
            if let Some(name) = path.filename() {
                each(name.as_bytes());
            }
        }
        Ok(())
    }

    fn list_all(&self) -> Result<Vec<ObjectInfo>> {
        let mut objects = self.list_tree("")?;
        // Uploads on their way in are not outputs.
        objects.retain(|o| !o.key.split('/').any(|part| part.starts_with('.')));
        Ok(objects)
    }

    fn remote_requests(&self) -> Option<&RequestCounts> {
        Some(&self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_or_a_duration_with_403_in_it_is_not_access_denied() {
        let refused = "Generic MicrosoftAzure error: Error performing list request: Error \
            performing GET http://127.0.0.1:34037/devstoreaccount1/bucket?restype=container in \
            248.403ms, after 2 retries - HTTP error: error sending request";
        let said = explain_error(refused, Some("http://127.0.0.1:34037"));
        assert!(
            said.starts_with("cannot reach the endpoint http://127.0.0.1:34037: "),
            "{said}"
        );
        for denied in [
            "Client error with status 403 Forbidden: <Error/>",
            "Error performing GET: status 401 Unauthorized",
            "<Code>AuthenticationFailed</Code>",
        ] {
            let said = explain_error(denied, None);
            assert!(
                said.starts_with("access denied (check the credentials): "),
                "{said}"
            );
        }
        assert_eq!(
            explain_error("<Code>NoSuchBucket</Code> on port 34037", None),
            "the bucket does not exist"
        );
    }
}
