//! The threads that help the calling thread run parallel segments: kept for the life of the
//! process and shared by every [`Vm`](crate::Vm), so a block does not spawn threads.
//!
//! A thread spawned per segment started every block cold: its pooled call memory (the
//! thread-local stack and heap buffers of `tos_program_runtime`), its allocator arena and its
//! caches were new each time, and the spawn and join themselves cost a few system calls. A
//! kept thread finds all of it warm. This is how Block-STM's executor runs too (Aptos keeps a
//! `rayon::ThreadPool` per executor and spawns its workers into a scope per block).
//!
//! rayon's scopes let a helper borrow the segment's shared state safely (the scope ends only
//! when every helper is done, a panic included) without lifetime-erasing code here.

use std::sync::{Arc, Mutex, PoisonError};

use rayon::{ThreadPool, ThreadPoolBuilder};

use super::execute::WorkerProbe;

/// Most helper threads a segment gets (a worker count past it only makes more threads sleep:
/// they are kept for the life of the process).
pub(super) const MAX_HELPERS: usize = 63;

/// The largest pool built so far. A request for more helpers builds a larger one in its place;
/// the old pool's threads end once its last user is done with it.
static HELPERS: Mutex<Option<Arc<ThreadPool>>> = Mutex::new(None);

/// A pool of at least `count` helper threads (at most [`MAX_HELPERS`]); `None` when no thread
/// can be started, and the calling thread then runs the segment alone.
pub(super) fn helpers(count: usize) -> Option<Arc<ThreadPool>> {
    let count = count.min(MAX_HELPERS);
    let mut pool = HELPERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(pool) = pool
        .as_ref()
        .filter(|pool| pool.current_num_threads() >= count)
    {
        return Some(Arc::clone(pool));
    }
    let built = ThreadPoolBuilder::new()
        .num_threads(count)
        .thread_name(|index| format!("tos-block-{index}"))
        .build()
        .ok()?;
    let built = Arc::new(built);
    *pool = Some(Arc::clone(&built));
    Some(built)
}

/// Runs `work(first, share)` over `items` cut into one share per worker (`first`: the index of
/// the share's first item), worker 0's on the calling thread and the others on kept threads,
/// each through `probe` if given; returns when every share is done.
pub(super) fn in_shares<T: Send>(
    items: &mut [T],
    workers: usize,
    probe: Option<&WorkerProbe<'_>>,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    let run = |worker: usize, first: usize, share: &mut [T]| match probe {
        Some(probe) => probe(worker, &mut || work(first, &mut *share)),
        None => work(first, share),
    };
    let workers = workers.clamp(1, MAX_HELPERS + 1).min(items.len());
    let pool = if workers > 1 {
        helpers(workers - 1)
    } else {
        None
    };
    let Some(pool) = pool else {
        return run(0, 0, items);
    };
    let per_share = items.len().div_ceil(workers);
    let mut shares = items.chunks_mut(per_share).enumerate();
    let own = shares.next();
    pool.in_place_scope(|scope| {
        for (worker, share) in shares {
            let run = &run;
            scope.spawn(move |_| run(worker, worker * per_share, share));
        }
        if let Some((_, share)) = own {
            run(0, 0, share);
        }
    });
}
