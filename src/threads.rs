//! Bounded threading: a function over a slice on a few scoped threads,
//! results in the slice's order. For listing layers (I/O) and for waiting
//! on several nix processes at once.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` over every item, on as many threads as there are cores; results in
/// the items' order.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    map_n(items, cores, f)
}

/// `f` over every item, on at most `workers` threads (for work that waits
/// on other processes, more than there are cores); results in the items'
/// order.
pub(crate) fn map_n<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let workers = workers.min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = vec![];
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break mine };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        // A worker that panicked panics here too (never fewer results,
        // shifted onto the wrong items).
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            super::map_n(&items, 7, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(super::map(&[] as &[u8], |_| 1).is_empty());
    }
}
