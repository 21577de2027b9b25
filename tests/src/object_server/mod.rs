//! Real object-storage servers for tests, one per provider kart supports, each started on a
//! free loopback port and stopped when dropped: moto's S3 server, fake-gcs-server for Google
//! Cloud Storage, Azurite for Azure. No mocked client: kart talks HTTP to them exactly as to
//! the cloud. A missing server fails the test saying how to install it.
//!
//! The helpers that seed and read objects speak each server's HTTP API directly, so a test
//! checks kart's requests against the server, not against kart's own client.

pub mod azure;
pub mod gcs;
pub mod http;
pub mod s3;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::redis_server::free_port;
use http::Response;

/// A provider of object storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    S3,
    Gcs,
    Azure,
}

impl Provider {
    /// The workspace URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            Provider::S3 => "s3",
            Provider::Gcs => "gs",
            Provider::Azure => "az",
        }
    }

    /// What a user sets to reach this provider's server on `port` of loopback.
    pub fn env(self, port: u16) -> Vec<(String, String)> {
        match self {
            Provider::S3 => s3::env(port),
            Provider::Gcs => gcs::env(port),
            Provider::Azure => azure::env(port),
        }
    }

    /// What a missing bucket is called in kart's message, where the server says.
    pub fn missing_bucket(self) -> &'static str {
        match self {
            Provider::S3 => "the bucket does not exist",
            Provider::Azure => "the container does not exist",
            // fake-gcs-server answers 500 with no body for a missing bucket's listing (GCS
            // answers 404 NoSuchBucket, which kart reads as the S3 case): only "cannot list".
            Provider::Gcs => "cannot list",
        }
    }
}

/// A running server.
pub struct ObjectServer {
    pub provider: Provider,
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// `env` if set, else the path `.ci/run` installs to, else `name` on the PATH.
fn binary(env: &str, ci: &str, name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    if std::path::Path::new(ci).exists() {
        return PathBuf::from(ci);
    }
    PathBuf::from(name)
}

impl ObjectServer {
    /// Starts a server on a free port and waits until it answers.
    pub fn start(provider: Provider) -> Self {
        Self::start_with(provider, false)
    }

    /// Starts a server that refuses requests not signed with the right credentials: moto
    /// with its IAM check on, Azurite as always. fake-gcs-server checks no credentials.
    pub fn start_checking_credentials(provider: Provider) -> Self {
        assert_ne!(
            provider,
            Provider::Gcs,
            "fake-gcs-server checks no credentials"
        );
        Self::start_with(provider, true)
    }

    fn start_with(provider: Provider, check_credentials: bool) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let ((binary, mut cmd), install) = match provider {
            Provider::S3 => (s3::command(port, check_credentials), s3::INSTALL),
            Provider::Gcs => (gcs::command(port), gcs::INSTALL),
            Provider::Azure => (azure::command(port), azure::INSTALL),
        };
        let child = cmd
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}): {install}", binary.display()));
        let server = ObjectServer {
            provider,
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.ready() {
            assert!(
                Instant::now() < deadline,
                "{} on port {port} did not answer within 30 s",
                binary.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn ready(&self) -> bool {
        match self.provider {
            Provider::S3 => s3::ready(self.port),
            Provider::Gcs => gcs::ready(self.port),
            Provider::Azure => azure::ready(self.port),
        }
    }

    /// Whether kart's writes can be tested here. fake-gcs-server refuses uploads through the
    /// XML API `object_store` speaks to GCS (see [`gcs`]), so on GCS kart's writes are
    /// untested: the README says so.
    pub fn takes_writes(&self) -> bool {
        self.provider != Provider::Gcs
    }

    /// The workspace URL of `prefix` in `bucket`.
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        format!("{}://{bucket}/{prefix}", self.provider.scheme())
    }

    /// The environment a kart process needs to use this server: what a user would set.
    pub fn env(&self) -> Vec<(String, String)> {
        self.provider.env(self.port)
    }

    /// Creates a bucket (a container on Azure).
    pub fn create_bucket(&self, name: &str) {
        let r = match self.provider {
            Provider::S3 => s3::create_bucket(self.port, name),
            Provider::Gcs => gcs::create_bucket(self.port, name),
            Provider::Azure => azure::create_bucket(self.port, name),
        };
        assert!(
            (200..300).contains(&r.status),
            "create {name}: {} {}",
            r.status,
            r.text()
        );
    }

    /// The object at `bucket/key`, if it exists.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let r = match self.provider {
            Provider::S3 => s3::get(self.port, bucket, key),
            Provider::Gcs => gcs::get(self.port, bucket, key),
            Provider::Azure => azure::get(self.port, bucket, key),
        };
        match r.status {
            200 => Some(r.body),
            404 => None,
            status => panic!("get {bucket}/{key}: {status} {}", r.text()),
        }
    }

    /// Stores `data` at `bucket/key`.
    pub fn put(&self, bucket: &str, key: &str, data: &[u8]) {
        let r = match self.provider {
            Provider::S3 => s3::put(self.port, bucket, key, data),
            Provider::Gcs => gcs::put(self.port, bucket, key, data),
            Provider::Azure => azure::put(self.port, bucket, key, data),
        };
        expect_success("put", bucket, key, &r);
    }

    /// Removes `bucket/key`.
    pub fn delete(&self, bucket: &str, key: &str) {
        let r = match self.provider {
            Provider::S3 => s3::delete(self.port, bucket, key),
            Provider::Gcs => gcs::delete(self.port, bucket, key),
            Provider::Azure => azure::delete(self.port, bucket, key),
        };
        expect_success("delete", bucket, key, &r);
    }

    /// The keys under `prefix` in `bucket` (one page, up to 1000), sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (r, mut keys) = match self.provider {
            Provider::S3 => s3::keys(self.port, bucket, prefix),
            Provider::Gcs => gcs::keys(self.port, bucket, prefix),
            Provider::Azure => azure::keys(self.port, bucket, prefix),
        };
        expect_success("list", bucket, prefix, &r);
        keys.sort();
        keys
    }
}

fn expect_success(what: &str, bucket: &str, key: &str, r: &Response) {
    assert!(
        (200..300).contains(&r.status),
        "{what} {bucket}/{key}: {} {}",
        r.status,
        r.text()
    );
}

impl Drop for ObjectServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
