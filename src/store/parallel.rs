//! The thread pool: a batch's keys are made on every core (`issue`, `check` use it).

use crate::error::Result;

/// Maps `f` over `items` on every available core, keeping the order; the first error wins.
pub(crate) fn parallel_map<T: Send, U: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> Result<U> + Sync,
) -> Result<Vec<U>> {
    parallel_map_on(items, cores(), f)
}

/// The number of cores this process may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Maps `f` over `items` on `threads` threads, keeping the order; the first error wins. The
/// items are handed out in small chunks, so that a thread held up by a slow disk read does not
/// leave the others idle at the end.
pub(crate) fn parallel_map_on<T: Send, U: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> Result<U> + Sync,
) -> Result<Vec<U>> {
    let total = items.len();
    let threads = threads.min(total).max(1);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    // Chunks of up to 64, but small enough that every thread gets work: a batch of three RSA
    // keys (seconds each) still runs on every core.
    let chunk = (total / (threads * 4)).clamp(1, 64);
    let mut queue = std::collections::VecDeque::with_capacity(total.div_ceil(chunk));
    let mut items = items.into_iter();
    for start in (0..total).step_by(chunk) {
        queue.push_back((start, items.by_ref().take(chunk).collect::<Vec<T>>()));
    }
    let queue = std::sync::Mutex::new(queue);
    let f = &f;
    // Each worker returns the chunks it did, by the index of their first item.
    type Done<U> = Vec<(usize, Vec<U>)>;
    let worker = || -> Result<Done<U>> {
        let mut done = Vec::new();
        loop {
            let next = queue.lock().expect("no worker panics").pop_front();
            let Some((start, chunk)) = next else {
                return Ok(done);
            };
            done.push((start, chunk.into_iter().map(f).collect::<Result<Vec<U>>>()?));
        }
    };
    let results: Vec<Result<Done<U>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no worker panics"))
            .collect()
    });
    let mut chunks = Vec::with_capacity(total.div_ceil(chunk));
    for r in results {
        chunks.extend(r?);
    }
    chunks.sort_unstable_by_key(|(start, _)| *start);
    let mut out = Vec::with_capacity(total);
    for (_, chunk) in chunks {
        out.extend(chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn parallel_map_keeps_the_order_and_reports_an_error() {
        for threads in [1, 2, 7] {
            let out = parallel_map_on((0..1000).collect(), threads, |i: u32| Ok(i * 2)).unwrap();
            assert_eq!(out, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
            let e = parallel_map_on((0..1000).collect(), threads, |i: u32| {
                if i == 777 {
                    Err(Error::DuplicateName(i.to_string()))
                } else {
                    Ok(i)
                }
            })
            .unwrap_err();
            assert!(matches!(e, Error::DuplicateName(n) if n == "777"));
        }
        assert!(parallel_map_on(Vec::<u8>::new(), 4, Ok).unwrap().is_empty());
        // A small batch still uses every thread.
        let ids = std::sync::Mutex::new(std::collections::HashSet::new());
        let barrier = std::sync::Barrier::new(2);
        parallel_map_on(vec![0, 1], 2, |_| {
            barrier.wait(); // would deadlock if both items ran on one thread
            ids.lock().unwrap().insert(std::thread::current().id());
            Ok(())
        })
        .unwrap();
        assert_eq!(ids.lock().unwrap().len(), 2);
    }
}
