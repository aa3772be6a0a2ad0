//! Blocks of token transfers as a node runs them, for the on-disk benches
//! (`token/transfer-disk`, `scaling/storage-disk/block*`).

use std::{cell::Cell, hint::black_box, time::Duration};

use tos_vm::{BlockContext, ContractCall, PendingState, VersionedStorage, Vm};

/// Blocks of transfers as a node runs them: `transfers` calls (cycling through `calls`) into a
/// [`PendingState`] over the store, then one `commit_block` at the next height. Tallies the
/// thread's CPU time next to the wall time criterion is given, so a run on a loaded machine
/// still says what the blocks cost in CPU.
pub struct Blocks<'c> {
    calls: &'c [ContractCall],
    transfers: u64,
    next: Cell<usize>,
    height: Cell<u64>,
    cpu: Cell<Duration>,
    done: Cell<u64>,
}

impl<'c> Blocks<'c> {
    /// Blocks of `transfers` calls over a store whose last block is at `height`.
    pub fn new(calls: &'c [ContractCall], transfers: u64, height: u64) -> Self {
        Blocks {
            calls,
            transfers,
            next: Cell::new(0),
            height: Cell::new(height),
            cpu: Cell::new(Duration::ZERO),
            done: Cell::new(0),
        }
    }

    /// Runs `blocks` blocks; returns their wall time (what criterion gets).
    pub fn run<S: VersionedStorage>(&self, vm: &Vm, store: &mut S, blocks: u64) -> Duration {
        let context = BlockContext::default();
        let wall = std::time::Instant::now();
        let cpu = super::thread_cpu_time();
        for _ in 0..blocks {
            let changes = {
                let mut pending = PendingState::new(&*store);
                for _ in 0..self.transfers {
                    let i = self.next.get();
                    self.next.set((i + 1) % self.calls.len());
                    let outcome = vm
                        .invoke(black_box(&self.calls[i]), &context, &mut pending)
                        .expect("transfer");
                    debug_assert!(outcome.status.is_success());
                }
                pending.into_changes()
            };
            let height = self.height.get() + 1;
            self.height.set(height);
            store.commit_block(height, &changes).expect("commit block");
        }
        let elapsed = wall.elapsed();
        self.cpu
            .set(self.cpu.get() + super::thread_cpu_time().saturating_sub(cpu));
        self.done.set(self.done.get() + blocks * self.transfers);
        elapsed
    }

    /// The thread's CPU time per transfer over every block run so far (warm-up included).
    pub fn cpu_per_transfer(&self) -> Option<Duration> {
        let done = self.done.get();
        (done > 0)
            .then(|| Duration::from_nanos((self.cpu.get().as_nanos() / u128::from(done)) as u64))
    }
}
