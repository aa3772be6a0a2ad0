//! The host memory one invoke can make a node hold is bounded (issue 15 item 5; the bound and
//! its derivation are in docs/security.md, "Memory of one invoke"). Hostile contracts that
//! try to make the journal hold as much as they can are stopped by
//! `MAX_JOURNAL_BYTES_PER_INVOKE` with a typed error, under both engines, with nothing
//! committed — at the default compute budget, which alone would let them hold far more.

use tos_test_harness::elf;
use tos_vm::{
    deploy_address,
    runtime::limits::{
        DEFAULT_COMPUTE_BUDGET, MAX_JOURNAL_BYTES_PER_INVOKE, MAX_STORAGE_VALUE_LEN,
    },
    syscalls::{storage::STORAGE_DELETE_BASE_COST, SyscallError},
    AbortReason, BlockContext, ContractCall, Engine, Hash, InvokeOutcome, InvokeStatus,
    MemoryStorage, StorageError, Vm, VmConfig,
};

const ENGINES: [Engine; 2] = [Engine::Interpreter, Engine::Jit];

/// Deletes the keys 0, 1, 2, ... (8-byte little-endian counters) for ever. A delete costs
/// `500 + key length` units (plus 6 000 for a key's first, cold access) whatever the value's
/// size, and the journal keeps the value it reads (every key's original value, for the change
/// set): with 64 KiB values that is ~64 KiB held per ~6 500 units, so the default budget alone
/// would let one call hold ~14 MB.
const DELETER: &str = "
    mov64 r6, 0
next:
    stxdw [r10-8], r6
    mov64 r1, r10
    add64 r1, -8
    mov64 r2, 8
    syscall tos_storage_delete
    add64 r6, 1
    ja next
";

/// Writes its whole input (up to 64 KiB) under the keys 0, 1, 2, ... for ever: the journal
/// keeps every value written.
const WRITER: &str = "
    mov64 r7, r1
    mov64 r8, r2
    mov64 r6, 0
next:
    stxdw [r10-8], r6
    mov64 r1, r10
    add64 r1, -8
    mov64 r2, 8
    mov64 r3, r7
    mov64 r4, r8
    syscall tos_storage_write
    add64 r6, 1
    ja next
";

fn run(
    engine: Engine,
    budget: u64,
    program: &str,
    stored_values: u64,
    input: Vec<u8>,
) -> (InvokeOutcome, MemoryStorage, MemoryStorage) {
    let node = Vm::new(VmConfig {
        engine,
        compute_budget: budget,
    });
    let code = elf::assemble(program).expect("assembles");
    let mut store = MemoryStorage::default();
    let contract = node
        .deploy(
            &code,
            deploy_address(&Hash([1; 32]), &Hash([2; 32])),
            &mut store,
        )
        .expect("deploys")
        .contract;
    let value = vec![0xAB; MAX_STORAGE_VALUE_LEN];
    for key in 0..stored_values {
        store.set_storage(contract, &key.to_le_bytes(), Some(&value));
    }
    let before = store.clone();
    let outcome = node
        .invoke(
            &ContractCall::new(contract, input),
            &BlockContext::default(),
            &mut store,
        )
        .expect("runs");
    (outcome, before, store)
}

/// The journal's typed refusal, if that is what stopped the call.
fn journal_limit(status: &InvokeStatus) -> Option<(usize, usize)> {
    match status {
        InvokeStatus::Aborted(AbortReason::Syscall(SyscallError::Storage(
            StorageError::JournalMemoryExceeded { held, limit },
        ))) => Some((*held, *limit)),
        _ => None,
    }
}

#[test]
fn a_contract_deleting_large_values_is_stopped_by_the_journal_limit_at_the_default_budget() {
    // More stored values than the limit lets one call delete: ~127 fit in 8 MiB.
    let stored = (MAX_JOURNAL_BYTES_PER_INVOKE / MAX_STORAGE_VALUE_LEN) as u64 + 16;
    let mut seen = Vec::new();
    for engine in ENGINES {
        let (outcome, before, after) = run(engine, DEFAULT_COMPUTE_BUDGET, DELETER, stored, vec![]);
        let (held, limit) = journal_limit(&outcome.status)
            .unwrap_or_else(|| panic!("{engine:?}: {:?}", outcome.status));
        assert_eq!(limit, MAX_JOURNAL_BYTES_PER_INVOKE);
        assert!(held <= limit);
        // It got close: the next delete (~64 KiB) did not fit.
        assert!(held > limit - 2 * MAX_STORAGE_VALUE_LEN, "{held}");
        // Compute did not stop it: the budget would have paid for more deletes.
        assert!(
            outcome.compute_used < DEFAULT_COMPUTE_BUDGET * 3 / 4,
            "{engine:?}: {} units",
            outcome.compute_used
        );
        assert!(outcome.compute_used > 60 * STORAGE_DELETE_BASE_COST);
        assert!(outcome.changes.is_empty() && outcome.growth.is_empty());
        assert_eq!(after, before, "{engine:?}: nothing committed");
        seen.push((outcome.compute_used, held));
    }
    assert_eq!(seen[0], seen[1], "both engines stop at the same point");
}

#[test]
fn a_contract_writing_large_values_under_a_raised_budget_is_stopped_by_the_journal_limit() {
    // A node that raises the budget (up to MAX_COMPUTE_BUDGET): compute no longer bounds the
    // journal, the limit does.
    let budget = 100 * DEFAULT_COMPUTE_BUDGET;
    let input = vec![0x5A; MAX_STORAGE_VALUE_LEN];
    let mut seen = Vec::new();
    for engine in ENGINES {
        let (outcome, before, after) = run(engine, budget, WRITER, 0, input.clone());
        let (held, limit) = journal_limit(&outcome.status)
            .unwrap_or_else(|| panic!("{engine:?}: {:?}", outcome.status));
        assert_eq!(limit, MAX_JOURNAL_BYTES_PER_INVOKE);
        assert!(
            held <= limit && held > limit - 2 * MAX_STORAGE_VALUE_LEN,
            "{held}"
        );
        assert!(
            outcome.compute_used < budget / 2,
            "{}",
            outcome.compute_used
        );
        assert!(outcome.changes.is_empty());
        assert_eq!(after, before, "{engine:?}: nothing committed");
        seen.push((outcome.compute_used, held));
    }
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn a_call_below_the_limit_is_not_affected() {
    // 16 deletes of 64 KiB values: ~1 MiB of journal, well below the limit.
    const SIXTEEN: &str = "
        mov64 r6, 0
    next:
        stxdw [r10-8], r6
        mov64 r1, r10
        add64 r1, -8
        mov64 r2, 8
        syscall tos_storage_delete
        add64 r6, 1
        jlt r6, 16, next
        mov64 r0, 0
        exit
    ";
    for engine in ENGINES {
        let (outcome, _, after) = run(engine, DEFAULT_COMPUTE_BUDGET, SIXTEEN, 20, vec![]);
        assert!(outcome.status.is_success(), "{:?}", outcome.status);
        assert_eq!(
            outcome.growth.freed_bytes(),
            16 * (32 + 8 + MAX_STORAGE_VALUE_LEN as u64)
        );
        assert_eq!(
            after
                .storage_entries(&outcome.changes.storage.keys().next().unwrap().0)
                .len(),
            4
        );
    }
}
