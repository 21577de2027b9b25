//! Workspaces on object storage (`s3://`, `gs://`, `az://`) through the `object_store` crate,
//! so outputs every machine must see live in one bucket while Redis coordinates.
//!
//! - An output is one `PUT` with "create only if absent" (`If-None-Match: *` on S3), so two
//!   machines racing on one output never clobber each other; the loser finds it complete.
//! - Completeness is one `HEAD` per task; ranges list each directory once (`LIST` with a
//!   delimiter, paginated by the store), never one request per instance.
//! - Credentials and endpoints come from each provider's usual environment variables
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`;
//!   `GOOGLE_SERVICE_ACCOUNT`; `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, …).
//!   A plain-HTTP endpoint (a local test server) is allowed without further setting.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload, RetryConfig};

use super::{ObjectInfo, Published, RequestCounts, Store};
use crate::{Error, Result};

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

/// Outputs under a prefix of a bucket.
pub struct ObjectStoreWorkspace {
    store: Arc<dyn ObjectStore>,
    url: String,
    prefix: ObjectPath,
    counts: RequestCounts,
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
        let store: Arc<dyn ObjectStore> = match parsed.scheme() {
            "s3" | "s3a" => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(bucket_url.as_str())
                    .with_retry(retries());
                if endpoint().is_some_and(|e| e.starts_with("http://")) {
                    builder = builder.with_allow_http(true);
                }
                Arc::new(builder.build().map_err(|e| fail(e.to_string()))?)
            }
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(bucket_url.as_str())
                    .with_retry(retries())
                    .build()
                    .map_err(|e| fail(e.to_string()))?,
            ),
            "az" | "abfs" | "abfss" => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url)
                    .with_retry(retries())
                    .build()
                    .map_err(|e| fail(e.to_string()))?,
            ),
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
        if self.prefix.as_ref().is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn error(&self, what: &str, key: &str, e: object_store::Error) -> Error {
        let text = e.to_string();
        let message = if text.contains("NoSuchBucket") {
            "the bucket does not exist".to_string()
        } else if text.contains("InvalidAccessKeyId")
            || text.contains("SignatureDoesNotMatch")
            || text.contains("AccessDenied")
            || text.contains("403")
        {
            format!(
                "access denied (check the credentials): {}",
                first_line(&text)
            )
        } else if text.contains("error sending request") || text.contains("connect") {
            format!(
                "cannot reach the endpoint{}: {}",
                endpoint().map_or(String::new(), |e| format!(" {e}")),
                first_line(&text)
            )
        } else {
            first_line(&text).to_string()
        };
        Error::RemoteWorkspace {
            url: self.location(key),
            message: format!("cannot {what}: {message}"),
        }
    }
}

fn endpoint() -> Option<String> {
    ["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
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

    fn exists(&self, key: &str) -> Result<bool> {
        self.counts.head.fetch_add(1, Ordering::Relaxed);
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
    fn publish(
        &self,
        key: &str,
        data: &[u8],
        before: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Published> {
        let payload = PutPayload::from(data.to_vec());
        super::last_check(before)?;
        self.counts.put.fetch_add(1, Ordering::Relaxed);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match runtime().block_on(self.store.put_opts(&self.path(key), payload, opts)) {
            Ok(_) => Ok(Published::Written),
            Err(object_store::Error::AlreadyExists { .. }) => {
                tracing::debug!("{} was written by another worker first", self.location(key));
                Ok(Published::AlreadyThere)
            }
            Err(e) => Err(self.error("write", key, e)),
        }
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.counts.delete.fetch_add(1, Ordering::Relaxed);
        match runtime().block_on(self.store.delete(&self.path(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("remove", key, e)),
        }
    }

    fn visit_dir(&self, dir: &str, each: &mut dyn FnMut(&str)) -> Result<()> {
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
                each(name);
            }
        }
        for path in &listed.common_prefixes {
            if let Some(name) = path.filename() {
                each(name);
            }
        }
        Ok(())
    }

    fn list_all(&self) -> Result<Vec<ObjectInfo>> {
        self.counts.list.fetch_add(1, Ordering::Relaxed);
        let prefix = self.prefix.clone();
        let skip = self.prefix.as_ref().len() + usize::from(!self.prefix.as_ref().is_empty());
        let metas: Vec<object_store::ObjectMeta> = runtime()
            .block_on(self.store.list(Some(&prefix)).try_collect())
            .map_err(|e| self.error("list", "", e))?;
        Ok(metas
            .into_iter()
            .map(|m| ObjectInfo {
                key: m.location.as_ref()[skip..].to_string(),
                size: m.size,
                modified: std::time::SystemTime::from(m.last_modified),
            })
            .collect())
    }

    fn remote_requests(&self) -> Option<&RequestCounts> {
        Some(&self.counts)
    }
}
