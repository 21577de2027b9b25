//! The physical floor of a first run of `Fanin --n N` (`bench/fsync_floor.sh`): the same N
//! small files written the way any careful writer must — a temporary file, its bytes, fsync,
//! rename into place — with nothing else.
//!
//! `write_floor DIR N`

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, n] = args.as_slice() else {
        eprintln!("usage: write_floor DIR N");
        std::process::exit(2);
    };
    let n: u32 = n.parse().expect("N is a number");
    let dir = std::path::Path::new(dir).join("leaf");
    std::fs::create_dir_all(&dir).expect("create the directory");
    for i in 0..n {
        let temp = dir.join(format!(".{i}.json.tmp"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .expect("create the temporary file");
        writeln!(file, "{i}").expect("write");
        file.sync_all().expect("fsync");
        std::fs::rename(&temp, dir.join(format!("{i}.json"))).expect("rename");
    }
}
