//! Azure Blob Storage through Azurite (the Azure Storage emulator, from npm). Azurite checks
//! every request's Shared Key signature, so the tests sign theirs as a client library would,
//! with the emulator's well-known account, and a wrong account key is really refused.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;

use super::http::{encode, request, Response};

/// Where `.ci/run` installs Azurite's blob service.
pub const CI_BINARY: &str = "/opt/kart-azurite/bin/azurite-blob";

pub(super) const INSTALL: &str = "install Azurite with `npm install -g --prefix /opt/kart-azurite azurite@3.35.0` (bash .ci/run does), or set KART_AZURITE";

/// The emulator's one account and its published key.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const VERSION: &str = "2021-08-06";

pub(super) fn command(port: u16) -> (PathBuf, Command) {
    let binary = super::binary("KART_AZURITE", CI_BINARY, "azurite-blob");
    let mut cmd = Command::new(&binary);
    cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .args(["--inMemoryPersistence", "--silent", "--disableTelemetry"]);
    (binary, cmd)
}

/// What a user sets to run against Azurite at this port.
pub(super) fn env(port: u16) -> Vec<(String, String)> {
    vec![
        ("AZURE_STORAGE_USE_EMULATOR".into(), "true".into()),
        (
            "AZURITE_BLOB_STORAGE_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
    ]
}

/// A request signed with the account key (Shared Key, as the Blob service defines it).
fn send(
    port: u16,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    extra: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<Response> {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut headers: Vec<(&str, String)> =
        vec![("x-ms-date", date), ("x-ms-version", VERSION.into())];
    headers.extend(extra.iter().cloned());
    let mut ms: Vec<String> = headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-ms-"))
        .map(|(k, v)| format!("{k}:{v}\n"))
        .collect();
    ms.sort();
    let mut sorted_query = query.to_vec();
    sorted_query.sort();
    let resource: String = std::iter::once(format!("/{ACCOUNT}/{ACCOUNT}{path}"))
        .chain(sorted_query.iter().map(|(k, v)| format!("\n{k}:{v}")))
        .collect();
    let length = if body.is_empty() {
        String::new()
    } else {
        body.len().to_string()
    };
    // Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-*, Range, then the rest.
    let to_sign = format!(
        "{method}\n\n\n{length}\n\n\n\n\n\n\n\n\n{}{resource}",
        ms.concat()
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(ACCOUNT_KEY)
        .expect("the emulator's key is base64");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let signature = base64::engine::general_purpose::STANDARD
        .encode(ring::hmac::sign(&key, to_sign.as_bytes()).as_ref());
    headers.push(("Authorization", format!("SharedKey {ACCOUNT}:{signature}")));
    let query_string: String = query
        .iter()
        .enumerate()
        .map(|(i, (k, v))| format!("{}{k}={}", if i == 0 { "?" } else { "&" }, encode(v)))
        .collect();
    request(
        port,
        method,
        &format!("/{ACCOUNT}{path}{query_string}"),
        &headers,
        body,
    )
}

pub(super) fn ready(port: u16) -> bool {
    // Any answer (a refusal of the unsigned request) means it listens.
    request(port, "GET", "/", &[], b"").is_ok()
}

pub(super) fn create_bucket(port: u16, container: &str) -> Response {
    send(
        port,
        "PUT",
        &format!("/{container}"),
        &[("restype", "container")],
        &[],
        b"",
    )
    .expect("create container")
}

pub(super) fn get(port: u16, container: &str, key: &str) -> Response {
    send(port, "GET", &format!("/{container}/{key}"), &[], &[], b"").expect("get blob")
}

pub(super) fn put(port: u16, container: &str, key: &str, data: &[u8]) -> Response {
    send(
        port,
        "PUT",
        &format!("/{container}/{key}"),
        &[],
        &[("x-ms-blob-type", "BlockBlob".into())],
        data,
    )
    .expect("put blob")
}

pub(super) fn delete(port: u16, container: &str, key: &str) -> Response {
    send(
        port,
        "DELETE",
        &format!("/{container}/{key}"),
        &[],
        &[],
        b"",
    )
    .expect("delete blob")
}

/// One page of up to 5000 names.
pub(super) fn keys(port: u16, container: &str, prefix: &str) -> (Response, Vec<String>) {
    let response = send(
        port,
        "GET",
        &format!("/{container}"),
        &[
            ("comp", "list"),
            ("prefix", prefix),
            ("restype", "container"),
        ],
        &[],
        b"",
    )
    .expect("list blobs");
    let keys = response
        .text()
        .split("<Name>")
        .skip(1)
        .filter_map(|part| part.split_once("</Name>").map(|(key, _)| key.to_string()))
        .collect();
    (response, keys)
}
