//! The floor under range completeness: only reading the directories, through the same store
//! call kart's bulk check uses, with nothing computed or compared. `bench/range_completeness.sh`
//! prints it next to kart's decision time.
//!
//! `list_floor WORKSPACE DIR... [--threads N]` prints the milliseconds to list every DIR once.

use std::time::Instant;

use kart_core::Workspace;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let threads = match args.iter().position(|a| a == "--threads") {
        Some(i) => {
            let n = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(1);
            args.drain(i..(i + 2).min(args.len()));
            n
        }
        None => 1,
    };
    let Some((root, dirs)) = args.split_first() else {
        eprintln!("usage: list_floor WORKSPACE DIR... [--threads N]");
        std::process::exit(2);
    };
    let ws = Workspace::local(root).unwrap_or_else(|e| {
        eprintln!("list_floor: {e}");
        std::process::exit(2);
    });
    let started = Instant::now();
    let chunk = dirs.len().div_ceil(threads.max(1)).max(1);
    let listed: Result<Vec<usize>, kart_core::Error> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .chunks(chunk)
            .map(|part| {
                let ws = &ws;
                s.spawn(move || {
                    let mut n = 0;
                    for dir in part {
                        ws.store().visit_dir(dir, &mut |_| n += 1)?;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("listing thread panicked"))
            .collect()
    });
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let names: usize = listed
        .unwrap_or_else(|e| {
            eprintln!("list_floor: {e}");
            std::process::exit(2);
        })
        .iter()
        .sum();
    eprintln!("{names} names");
    println!("{ms:.1}");
}
