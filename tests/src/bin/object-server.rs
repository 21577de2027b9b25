//! One of the tests' object-storage servers, for scripts (the benchmarks): starts the
//! provider's server on a free loopback port, creates `BUCKET`, puts the object `1` at each key
//! listed in `KEYS` (one per line), prints the environment a kart process needs (`NAME=value`
//! lines) and then `ready`, and stops the server when its standard input closes.
//!
//! `object-server s3|gcs|azure BUCKET KEYS`

use std::io::{BufRead, Read, Write};

use kart_tests::object_server::{ObjectServer, Provider};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [provider, bucket, keys] = args.as_slice() else {
        eprintln!("usage: object-server s3|gcs|azure BUCKET KEYS");
        std::process::exit(2);
    };
    let provider = match provider.as_str() {
        "s3" => Provider::S3,
        "gcs" => Provider::Gcs,
        "azure" => Provider::Azure,
        other => {
            eprintln!("object-server: unknown provider `{other}`; expected s3, gcs or azure");
            std::process::exit(2);
        }
    };
    let keys = std::fs::File::open(keys).unwrap_or_else(|e| {
        eprintln!("object-server: cannot read {keys}: {e}");
        std::process::exit(2);
    });
    let server = ObjectServer::start(provider);
    server.create_bucket(bucket);
    for key in std::io::BufReader::new(keys).lines() {
        let key = key.expect("a line of the key list");
        if !key.is_empty() {
            server.put(bucket, &key, b"1");
        }
    }
    let mut out = std::io::stdout().lock();
    for (name, value) in server.env() {
        let _ = writeln!(out, "{name}={value}");
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    // Until the script closes our input; dropping the server stops it.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
