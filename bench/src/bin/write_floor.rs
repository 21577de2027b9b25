//! The physical floor of a first run of `Fanin --n N` (`bench/fsync_floor.sh`): the same N
//! small files written the way any careful writer must — a temporary file, its bytes, fsync,
//! rename into place — with nothing else.
//!
//! `write_floor DIR N [FILES]`: with FILES > 1, each task also writes FILES - 1 small files
//! the same way into one shared directory (`DIR/books`), as a first run with claims keeps a
//! claim lock, its fence and a commit fence per task beside the output.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, n, files) = match args.as_slice() {
        [_, dir, n] => (dir, n, "1"),
        [_, dir, n, files] => (dir, n, files.as_str()),
        _ => {
            eprintln!("usage: write_floor DIR N [FILES]");
            std::process::exit(2);
        }
    };
    let n: u32 = n.parse().expect("N is a number");
    let files: u32 = files.parse().expect("FILES is a number");
    let root = std::path::Path::new(dir);
    let (leaf, books) = (root.join("leaf"), root.join("books"));
    std::fs::create_dir_all(&leaf).expect("create the directory");
    std::fs::create_dir_all(&books).expect("create the directory");
    for i in 0..n {
        for f in 1..files {
            write(&books, &format!("{i}.{f}"), i);
        }
        write(&leaf, &format!("{i}.json"), i);
    }
}

/// `dir/name` holding `i`: a temporary file, its bytes, fsync, renamed into place.
fn write(dir: &std::path::Path, name: &str, i: u32) {
    let temp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .expect("create the temporary file");
    writeln!(file, "{i}").expect("write");
    file.sync_all().expect("fsync");
    std::fs::rename(&temp, dir.join(name)).expect("rename");
}
