//! A real S3-protocol server for tests: `moto_server` (from PyPI's `moto[server]`) started on
//! a free loopback port, stopped when dropped. No mocked client: kart talks HTTP to it exactly
//! as to S3. When the binary is missing, tests fail saying how to install it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis_server::free_port;

/// Where `.ci/run` installs moto's server.
pub const CI_MOTO: &str = "/opt/kart-moto/bin/moto_server";

/// A running `moto_server`.
pub struct S3Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn moto_binary() -> PathBuf {
    if let Ok(path) = std::env::var("KART_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    if std::path::Path::new(CI_MOTO).exists() {
        return PathBuf::from(CI_MOTO);
    }
    PathBuf::from("moto_server")
}

impl S3Server {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server whose requests must be signed with valid credentials (moto's IAM
    /// check on), for "access denied" tests.
    pub fn start_with_auth() -> Self {
        Self::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
    }

    fn start_with(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let binary = moto_binary();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install moto's S3 server with `python3 -m venv /opt/kart-moto && /opt/kart-moto/bin/pip install 'moto[server]'` (bash .ci/run does), or set KART_MOTO_SERVER",
                    binary.display()
                )
            });
        let server = S3Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.request("GET", "/", b"").is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server on port {port} did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a kart process needs to use this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
        ]
    }

    /// One plain HTTP/1.1 request; returns status and body. moto does not check signatures
    /// (unless started with auth), but wants an `Authorization` header to treat a request as
    /// an API call.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let text = String::from_utf8_lossy(&response);
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |p| p + 4);
        Ok((status, response[split..].to_vec()))
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, name: &str) {
        let (status, body) = self
            .request("PUT", &format!("/{name}"), b"")
            .expect("create bucket");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    /// The object at `bucket/key`, if it exists.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let (status, body) = self
            .request("GET", &format!("/{bucket}/{key}"), b"")
            .expect("get object");
        (status == 200).then_some(body)
    }

    /// The keys under `prefix` in `bucket` (one page of up to 1000), sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (status, body) = self
            .request(
                "GET",
                &format!("/{bucket}?list-type=2&prefix={prefix}"),
                b"",
            )
            .expect("list objects");
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{text}");
        let mut keys: Vec<String> = text
            .split("<Key>")
            .skip(1)
            .filter_map(|part| part.split_once("</Key>").map(|(key, _)| key.to_string()))
            .collect();
        keys.sort();
        keys
    }

    /// Stores `data` at `bucket/key`.
    pub fn put(&self, bucket: &str, key: &str, data: &[u8]) {
        let (status, body) = self
            .request("PUT", &format!("/{bucket}/{key}"), data)
            .expect("put object");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
