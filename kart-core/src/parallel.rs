//! Splitting work over the cores: contiguous parts of a slice, one scoped thread each, the
//! results joined in order. Completeness (keys, listings) and the graph walk (ids) use it.

use crate::error::Result;

/// The number of threads to split work over. Asked once: the standard library reads the
/// cgroup's files each time, which a graph walk asking per task paid for dearly.
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs `work` over up to `threads` contiguous parts of `items` of at least `min_chunk`
/// items (with each part's offset), concatenating the results in order.
pub(crate) fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    min_chunk: usize,
    work: impl Fn(usize, &[T]) -> Result<Vec<R>> + Sync,
) -> Result<Vec<R>> {
    let chunk = items.len().div_ceil(threads.max(1)).max(min_chunk).max(1);
    if items.len() <= chunk {
        return work(0, items);
    }
    let work = &work;
    let parts: Vec<Result<Vec<R>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| scope.spawn(move || work(i * chunk, part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    });
    let mut out = Vec::new();
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}
