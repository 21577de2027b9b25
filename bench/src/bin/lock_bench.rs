//! Lock cycle benchmark: acquire + release cycles per second through kart's lock API, and
//! the delay from a release to a blocked waiter's wake-up. `bench/locks.sh` runs it next to
//! `redis-benchmark` on the same server.
//!
//! `lock_bench --port 6379 [--seconds 3] [--file-dir DIR]`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use kart_core::lock::Locks;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Cycles per second with `clients` threads for `secs`; `contended` makes them share one key.
fn cycles(locks: &Locks, clients: usize, contended: bool, secs: f64) -> f64 {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(clients + 1));
    std::thread::scope(|s| {
        for c in 0..clients {
            let (done, count, start) = (done.clone(), count.clone(), start.clone());
            s.spawn(move || {
                start.wait();
                let mut i = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let key = if contended {
                        "bench:contended".to_string()
                    } else {
                        format!("bench:{c}:{}", i % 64)
                    };
                    let guard = locks
                        .lock(key)
                        .ttl(Duration::from_secs(10))
                        .timeout(Duration::from_secs(30))
                        .acquire()
                        .expect("acquire");
                    drop(guard);
                    i += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        start.wait();
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(secs));
        done.store(true, Ordering::Relaxed);
        let n = count.load(Ordering::Relaxed);
        n as f64 / t.elapsed().as_secs_f64()
    })
}

/// The floor of a contended lock: round trips one after another on one connection (`PING`).
/// Handing a lock from one client to the next takes at least one message each way, so no
/// contended lock can change hands more often than this.
fn serial_round_trips(port: u16, secs: f64) -> f64 {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    let mut c = client.get_connection().expect("connect");
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < secs {
        let _: String = redis::cmd("PING").query(&mut c).expect("PING");
        n += 1;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// Release-to-wake-up delays: a waiter blocks on a held lock; the holder releases.
fn wakeups(locks: &Locks, rounds: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let key = format!("bench:wake:{r}");
        let held = locks
            .lock(key.as_str())
            .ttl(Duration::from_secs(30))
            .acquire()
            .expect("hold");
        let released_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
        let waiting = Arc::new(Barrier::new(2));
        let delay = std::thread::scope(|s| {
            let waiter = {
                let (key, waiting) = (key.clone(), waiting.clone());
                s.spawn(move || {
                    waiting.wait();
                    let g = locks
                        .lock(key)
                        .timeout(Duration::from_secs(30))
                        .acquire()
                        .expect("wait");
                    let woke = Instant::now();
                    drop(g);
                    woke
                })
            };
            waiting.wait();
            // Let the waiter block in its wait before releasing.
            std::thread::sleep(Duration::from_millis(20));
            *released_at.lock().unwrap() = Some(Instant::now());
            drop(held);
            let woke = waiter.join().unwrap();
            woke.duration_since(released_at.lock().unwrap().unwrap())
        });
        out.push(delay);
    }
    out.sort();
    out
}

fn main() {
    let secs: f64 = arg("--seconds").map_or(3.0, |s| s.parse().expect("--seconds"));
    let locks = match (arg("--port"), arg("--file-dir")) {
        (Some(port), _) => Locks::redis(
            &kart_core::redis::RedisEndpoint::new("127.0.0.1", port.parse().expect("--port")),
            "kart-bench",
        )
        .expect("redis"),
        (None, Some(dir)) => Locks::local(std::path::Path::new(&dir)).expect("file locks"),
        _ => panic!("give --port P (Redis) or --file-dir DIR"),
    };
    let backend = locks.backend().describe();
    for (name, clients, contended) in [
        ("1 client, distinct keys", 1, false),
        ("8 clients, distinct keys", 8, false),
        ("8 clients, one contended key", 8, true),
    ] {
        println!(
            "cycles/s\t{backend}\t{name}\t{:.0}",
            cycles(&locks, clients, contended, secs)
        );
    }
    if let Some(port) = arg("--port") {
        let rate = serial_round_trips(port.parse().expect("--port"), secs);
        println!("round_trips/s\t{backend}\tserial PING, 1 connection\t{rate:.0}");
    }
    let w = wakeups(&locks, 50);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("wakeup_ms\t{backend}\tmedian\t{:.3}", ms(w[w.len() / 2]));
    println!(
        "wakeup_ms\t{backend}\tp95\t{:.3}",
        ms(w[w.len() * 95 / 100])
    );
}
