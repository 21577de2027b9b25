//! S3 through moto's server (`moto_server`, from PyPI's `moto[server]`). moto checks no
//! signature unless started with its IAM check on, but wants an `Authorization` header to
//! treat a request as an API call.

use std::path::PathBuf;
use std::process::Command;

use super::http::{encode, request, Response};

/// Where `.ci/run` installs moto's server.
pub const CI_BINARY: &str = "/opt/kart-moto/bin/moto_server";

pub(super) const INSTALL: &str = "install moto's S3 server with `python3 -m venv /opt/kart-moto && /opt/kart-moto/bin/pip install 'moto[server]'` (bash .ci/run does), or set KART_MOTO_SERVER";

pub(super) fn command(port: u16, check_credentials: bool) -> (PathBuf, Command) {
    let binary = super::binary("KART_MOTO_SERVER", CI_BINARY, "moto_server");
    let mut cmd = Command::new(&binary);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    if check_credentials {
        cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
    }
    (binary, cmd)
}

pub(super) fn env(port: u16) -> Vec<(String, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
        (
            "AWS_ENDPOINT_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
    ]
}

fn send(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<Response> {
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";
    request(port, method, path, &[("Authorization", auth.into())], body)
}

pub(super) fn ready(port: u16) -> bool {
    send(port, "GET", "/", b"").is_ok()
}

pub(super) fn create_bucket(port: u16, bucket: &str) -> Response {
    send(port, "PUT", &format!("/{bucket}"), b"").expect("create bucket")
}

pub(super) fn get(port: u16, bucket: &str, key: &str) -> Response {
    send(port, "GET", &format!("/{bucket}/{key}"), b"").expect("get object")
}

pub(super) fn put(port: u16, bucket: &str, key: &str, data: &[u8]) -> Response {
    send(port, "PUT", &format!("/{bucket}/{key}"), data).expect("put object")
}

pub(super) fn delete(port: u16, bucket: &str, key: &str) -> Response {
    send(port, "DELETE", &format!("/{bucket}/{key}"), b"").expect("delete object")
}

/// One page of up to 1000 keys.
pub(super) fn keys(port: u16, bucket: &str, prefix: &str) -> (Response, Vec<String>) {
    let path = format!("/{bucket}?list-type=2&prefix={}", encode(prefix));
    let response = send(port, "GET", &path, b"").expect("list objects");
    let keys = response
        .text()
        .split("<Key>")
        .skip(1)
        .filter_map(|part| part.split_once("</Key>").map(|(key, _)| key.to_string()))
        .collect();
    (response, keys)
}
