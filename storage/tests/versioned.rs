//! State versioned by block height: commit_block / plain commit (the pending block) /
//! prune_below on DiskStorage and MemoryStorage, checked against a model that is a Vec of
//! full-state snapshots, one per sealed height, plus the latest state.

use proptest::prelude::*;
use std::collections::BTreeMap;
use tos_storage::{
    ChangeSet, ContractInfo, DiskStorage, Hash, MemoryStorage, StateAt, StorageError,
    StorageProvider, VersionedStorage, NATIVE_ASSET,
};

const C1: Hash = Hash([0xC1; 32]);
const C2: Hash = Hash([0xC2; 32]);
const ALICE: Hash = Hash([0xA1; 32]);
const TOKEN: Hash = Hash([0x70; 32]);

fn contracts() -> [Hash; 2] {
    [C1, C2]
}
/// Keys that exercise the escaping of 0x00 in version keys.
fn keys() -> [Vec<u8>; 4] {
    [vec![], vec![0], vec![0, 0], vec![1]]
}
fn accounts() -> [Hash; 2] {
    [ALICE, C1]
}
fn assets() -> [Hash; 2] {
    [NATIVE_ASSET, TOKEN]
}

// ---------------------------------------------------------------------------------------------
// Example-based tests

fn block(writes: &[(&[u8], Option<&[u8]>)], balance: Option<u64>) -> ChangeSet {
    let mut cs = ChangeSet::new();
    for (key, value) in writes {
        cs.set_storage(C1, key.to_vec(), value.map(<[u8]>::to_vec));
    }
    if let Some(amount) = balance {
        cs.set_balance(ALICE, NATIVE_ASSET, amount);
    }
    cs
}

#[test]
fn disk_reads_as_of_any_height_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        assert_eq!(disk.block_height().unwrap(), 0);
        disk.commit_block(
            1,
            &block(&[(b"a", Some(b"1")), (b"b", Some(b"x"))], Some(5)),
        )
        .unwrap();
        disk.commit_block(2, &block(&[(b"a", Some(b"2"))], None))
            .unwrap();
        // Heights may skip: 3 and 4 read like 2.
        disk.commit_block(5, &block(&[(b"a", None), (b"c", Some(b""))], Some(0)))
            .unwrap();
        let mut code = ChangeSet::new();
        code.deploy_code(C2, b"elf v1".to_vec());
        disk.commit_block(6, &code).unwrap();
        let mut code = ChangeSet::new();
        code.deploy_code(C2, b"elf v2".to_vec());
        disk.commit_block(7, &code).unwrap();
    }
    let disk = DiskStorage::open(dir.path()).unwrap();
    assert_eq!(disk.block_height().unwrap(), 7);
    let a = |h| disk.read_storage_at(&C1, b"a", h).unwrap();
    assert_eq!(a(0), None);
    assert_eq!(a(1), Some(b"1".to_vec()));
    assert_eq!(a(2), Some(b"2".to_vec()));
    assert_eq!(a(4), Some(b"2".to_vec()));
    assert_eq!(a(5), None);
    assert_eq!(disk.read_storage(&C1, b"a").unwrap(), None);
    assert_eq!(disk.read_balance_at(&ALICE, &NATIVE_ASSET, 4).unwrap(), 5);
    assert_eq!(disk.read_balance_at(&ALICE, &NATIVE_ASSET, 5).unwrap(), 0);
    assert_eq!(disk.read_code_at(&C2, 5).unwrap(), None);
    assert_eq!(disk.read_code_at(&C2, 6).unwrap(), Some(b"elf v1".to_vec()));
    assert_eq!(disk.read_code(&C2).unwrap(), Some(b"elf v2".to_vec()));
    assert_eq!(
        disk.list_storage_at(&C1, 3).unwrap(),
        vec![
            (b"a".to_vec(), b"2".to_vec()),
            (b"b".to_vec(), b"x".to_vec())
        ]
    );
    assert_eq!(
        disk.list_storage_at(&C1, 5).unwrap(),
        vec![
            (b"b".to_vec(), b"x".to_vec()),
            (b"c".to_vec(), b"".to_vec())
        ]
    );
    assert_eq!(
        disk.list_storage(&C1).unwrap(),
        disk.list_storage_at(&C1, 7).unwrap()
    );

    // The view is a StorageProvider; committing through it is refused.
    let mut view = disk.at(2).unwrap();
    assert_eq!(view.height(), 2);
    assert_eq!(view.read_storage(&C1, b"a").unwrap(), Some(b"2".to_vec()));
    assert_eq!(view.read_balance(&ALICE, &NATIVE_ASSET).unwrap(), 5);
    assert_eq!(view.list_storage(&C1).unwrap().len(), 2);
    let refused = view.commit(&ChangeSet::new()).unwrap_err();
    assert!(matches!(refused, StorageError::ReadOnlyView { height: 2 }));
    assert!(!refused.is_backend());
    assert!(matches!(
        disk.at(8),
        Err(StorageError::HeightInFuture { height: 8, tip: 7 })
    ));
}

#[test]
fn heights_must_strictly_increase_and_refusals_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut disk = DiskStorage::open(dir.path()).unwrap();
    // The first block of a new state may be block 0.
    disk.commit_block(0, &block(&[(b"g", Some(b"genesis"))], None))
        .unwrap();
    disk.commit_block(3, &ChangeSet::new()).unwrap();
    for height in [0, 2, 3] {
        match disk.commit_block(height, &block(&[(b"g", Some(b"no"))], Some(1))) {
            Err(e @ StorageError::HeightSealed { .. }) => {
                assert!(!e.is_backend());
                assert!(e.to_string().contains("is sealed"), "{e}");
            }
            other => panic!("expected HeightSealed, got {other:?}"),
        }
    }
    assert!(matches!(
        disk.commit_with_height(&ChangeSet::new(), 1),
        Err(StorageError::HeightSealed { height: 1, tip: 3 })
    ));
    assert_eq!(disk.block_height().unwrap(), 3);
    assert_eq!(
        disk.read_storage(&C1, b"g").unwrap(),
        Some(b"genesis".to_vec())
    );
    assert_eq!(disk.read_balance(&ALICE, &NATIVE_ASSET).unwrap(), 0);
}

/// Issue 16 item 6: a plain `commit` (what `Vm::invoke` / `Vm::deploy` do on the store itself)
/// wrote into the already committed tip height, silently changing a finished block. Now it
/// goes to the pending block, which the next `commit_block` seals; a sealed height never
/// changes, and trying to is `HeightSealed`. Both stores, the disk one across a reopen.
fn plain_commits_never_change_a_sealed_height<S: VersionedStorage>(
    store: &mut S,
    reopen: &mut dyn FnMut(&mut S),
) {
    let k = |store: &S, height| store.read_storage_at(&C1, b"k", height).unwrap();
    // Before the first block: pending, no height sealed yet.
    store.commit(&block(&[(b"k", Some(b"0"))], None)).unwrap();
    assert_eq!(store.block_height().unwrap(), 0);
    assert!(store.has_pending_changes().unwrap());
    assert_eq!(k(store, 0), None);
    assert_eq!(store.read_storage(&C1, b"k").unwrap(), Some(b"0".to_vec()));
    // The block seals the pending writes with its own changes.
    store
        .commit_block(4, &block(&[(b"j", Some(b"4"))], Some(9)))
        .unwrap();
    assert!(!store.has_pending_changes().unwrap());
    assert_eq!(k(store, 3), None);
    assert_eq!(k(store, 4), Some(b"0".to_vec()));
    // After the block: the sealed height 4 does not move.
    store
        .commit(&block(&[(b"k", Some(b"4b")), (b"j", None)], Some(1)))
        .unwrap();
    reopen(store);
    assert_eq!(store.block_height().unwrap(), 4);
    assert!(store.has_pending_changes().unwrap());
    assert_eq!(k(store, 4), Some(b"0".to_vec()));
    assert_eq!(
        store.read_storage_at(&C1, b"j", 4).unwrap(),
        Some(b"4".to_vec())
    );
    assert_eq!(store.read_balance_at(&ALICE, &NATIVE_ASSET, 4).unwrap(), 9);
    assert_eq!(store.read_storage(&C1, b"k").unwrap(), Some(b"4b".to_vec()));
    assert_eq!(store.read_storage(&C1, b"j").unwrap(), None);
    assert_eq!(store.read_balance(&ALICE, &NATIVE_ASSET).unwrap(), 1);
    assert!(matches!(
        store.read_storage_at(&C1, b"k", 5),
        Err(StorageError::HeightInFuture { height: 5, tip: 4 })
    ));
    // An attempt to change a sealed height (the tip or below) is a typed error and changes
    // nothing, the pending block included.
    for height in [0, 4] {
        let refused = store.commit_block(height, &block(&[(b"k", Some(b"no"))], None));
        assert!(
            matches!(refused, Err(StorageError::HeightSealed { tip: 4, .. })),
            "{refused:?}"
        );
    }
    assert!(matches!(
        store.commit_block(u64::MAX, &ChangeSet::new()),
        Err(StorageError::HeightOutOfRange { .. })
    ));
    assert_eq!(store.read_storage(&C1, b"k").unwrap(), Some(b"4b".to_vec()));
    assert!(store.has_pending_changes().unwrap());
    // Undone in the pending block: nothing left to seal.
    store
        .commit(&block(&[(b"k", Some(b"0")), (b"j", Some(b"4"))], Some(9)))
        .unwrap();
    assert!(!store.has_pending_changes().unwrap());
    // The next block seals pending writes at its own height, above the old tip.
    store.commit(&block(&[(b"k", Some(b"5"))], None)).unwrap();
    store.commit_block(6, &ChangeSet::new()).unwrap();
    reopen(store);
    assert_eq!(k(store, 4), Some(b"0".to_vec()));
    assert_eq!(k(store, 5), Some(b"0".to_vec()));
    assert_eq!(k(store, 6), Some(b"5".to_vec()));
    assert!(!store.has_pending_changes().unwrap());
}

#[test]
fn plain_commits_go_to_the_pending_block_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut disk = DiskStorage::open(dir.path()).unwrap();
    let path = dir.path().to_path_buf();
    plain_commits_never_change_a_sealed_height(&mut disk, &mut |disk| {
        // Replace the handle: the old one must close before the file can be opened again.
        let placeholder = tempfile::tempdir().unwrap();
        let old = std::mem::replace(disk, DiskStorage::open(placeholder.path()).unwrap());
        drop(old);
        *disk = DiskStorage::open(&path).unwrap();
    });
}

#[test]
fn plain_commits_go_to_the_pending_block_in_memory() {
    let mut memory = MemoryStorage::new();
    plain_commits_never_change_a_sealed_height(&mut memory, &mut |_| {});
}

#[test]
fn unchanged_values_write_no_version_and_prune_keeps_one_per_live_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut disk = DiskStorage::open(dir.path()).unwrap();
    let mut code = ChangeSet::new();
    code.deploy_code(C2, vec![0x7f; 1000]);
    disk.commit_block(1, &code).unwrap();
    for height in 2..=20u64 {
        let mut cs = block(
            &[
                (b"same", Some(b"v")),
                (b"counter", Some(&height.to_le_bytes())),
            ],
            Some(height % 3),
        );
        cs.deploy_code(C2, vec![0x7f; 1000]); // redeploying the same ELF: no new version
        if height % 2 == 0 {
            cs.set_storage(C1, b"flip".to_vec(), Some(b"on".to_vec()));
        } else {
            cs.set_storage(C1, b"flip".to_vec(), None);
        }
        disk.commit_block(height, &cs).unwrap();
    }
    let rows = disk.version_rows().unwrap();
    assert_eq!(rows.storage, 1 + 19 + 19);
    assert_eq!(rows.code, 1);
    assert!(matches!(
        disk.prune_below(21),
        Err(StorageError::HeightInFuture {
            height: 21,
            tip: 20
        })
    ));
    disk.prune_below(10).unwrap();
    assert_eq!(disk.oldest_height().unwrap(), 10);
    assert!(matches!(
        disk.read_storage_at(&C1, b"counter", 9),
        Err(StorageError::HeightPruned {
            height: 9,
            oldest: 10
        })
    ));
    for height in 10..=20u64 {
        assert_eq!(
            disk.read_storage_at(&C1, b"counter", height).unwrap(),
            Some(height.to_le_bytes().to_vec())
        );
        assert_eq!(
            disk.read_balance_at(&ALICE, &NATIVE_ASSET, height).unwrap(),
            height % 3
        );
    }
    // Pruning below an older height changes nothing.
    let before = disk.version_rows().unwrap();
    disk.prune_below(5).unwrap();
    assert_eq!(disk.version_rows().unwrap(), before);
    assert_eq!(disk.oldest_height().unwrap(), 10);
    // At the tip: one version per live key, deletions and zero balances gone.
    disk.prune_below(20).unwrap();
    let rows = disk.version_rows().unwrap();
    assert_eq!(rows.storage, 3); // same, counter, flip (on at 20)
    assert_eq!(rows.balances, 1); // 20 % 3 = 2
    assert_eq!(rows.code, 1);
    assert_eq!(disk.read_code(&C2).unwrap(), Some(vec![0x7f; 1000]));
    drop(disk);
    let disk = DiskStorage::open(dir.path()).unwrap();
    assert_eq!(disk.oldest_height().unwrap(), 20);
    assert_eq!(
        disk.list_storage_at(&C1, 20).unwrap(),
        disk.list_storage(&C1).unwrap()
    );
}

#[test]
fn old_format_files_are_refused() {
    // Version 1 (the unversioned layout) and version 2 (contracts addressed by code hash, what
    // tos-vm wrote before contract instances): same magic, older format_version. Refused with
    // a message naming both formats, never read as instances.
    for (old, words) in [(1u32, "unversioned"), (2, "addressed by their code hash")] {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
                let mut meta = txn.open_table(def).unwrap();
                meta.insert("magic", b"tos-vm state".as_slice()).unwrap();
                meta.insert("format_version", old.to_le_bytes().as_slice())
                    .unwrap();
                meta.insert("block_height", 0u64.to_le_bytes().as_slice())
                    .unwrap();
                let def: redb::TableDefinition<&[u8], &[u8]> =
                    redb::TableDefinition::new("storage");
                txn.open_table(def).unwrap();
                let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("code");
                let mut code = txn.open_table(def).unwrap();
                code.insert([9u8; 32].as_slice(), 0u64.to_le_bytes().as_slice())
                    .unwrap();
            }
            txn.commit().unwrap();
        }
        let err = DiskStorage::open(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::UnsupportedVersion { found, supported: 4 } if found == old
            ),
            "{err:?}"
        );
        assert!(err.is_backend());
        let message = err.to_string();
        assert!(message.contains(&format!("version {old}")), "{message}");
        assert!(message.contains(words), "{message}");
        assert!(
            message.contains("version 4 (contract instances"),
            "{message}"
        );
    }
}

/// The format version a closed store's file records.
fn recorded_format_version(dir: &std::path::Path) -> u32 {
    use redb::ReadableDatabase;
    let db = redb::Database::open(dir.join("state.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let meta = txn.open_table(def).unwrap();
    let bytes = meta
        .get("format_version")
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    u32::from_le_bytes(bytes.try_into().unwrap())
}

/// A version 3 store, written row by row as version 3 laid it out (no version log: every
/// version in the key-ordered tables), is migrated to version 4 by its first open, atomically
/// and once: every read at every height is what version 3 stored, the next blocks go through
/// the log and read across both, and the file then says version 4.
#[test]
fn version_3_store_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let ver = |prefix: &[u8], height: u64| [prefix, &height.to_be_bytes()].concat();
    let c1 = |rest: &[u8]| [C1.0.as_slice(), rest].concat();
    // esc([0]) = 00 FF 00 01, esc([1]) = 01 00 01.
    let (k0, k1) = (c1(&[0x00, 0xFF, 0x00, 0x01]), c1(&[0x01, 0x00, 0x01]));
    let alice_native = [ALICE.0, NATIVE_ASSET.0].concat();
    type Rows = Vec<(Vec<u8>, Vec<u8>)>;
    let tables: Vec<(&str, Rows)> = vec![
        ("storage", vec![(c1(&[0]), b"v2".to_vec())]),
        (
            "storage_versions",
            vec![
                (ver(&k0, 1), b"\x01v1".to_vec()),
                (ver(&k0, 2), b"\x01v2".to_vec()),
                (ver(&k1, 1), b"\x01x".to_vec()),
                (ver(&k1, 2), vec![0x00]),
            ],
        ),
        (
            "balances",
            vec![(alice_native.clone(), 7u64.to_le_bytes().to_vec())],
        ),
        (
            "balance_versions",
            vec![
                (ver(&alice_native, 1), 5u64.to_le_bytes().to_vec()),
                (ver(&alice_native, 2), 7u64.to_le_bytes().to_vec()),
            ],
        ),
        ("code", vec![(C2.0.to_vec(), 1u64.to_le_bytes().to_vec())]),
        ("code_versions", vec![(ver(&C2.0, 1), vec![0x7f, 1])]),
        ("contracts", vec![(ALICE.0.to_vec(), C2.0.to_vec())]),
        ("contract_versions", vec![(ver(&ALICE.0, 1), C2.0.to_vec())]),
        ("pending", vec![]),
    ];
    {
        let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut meta = txn.open_table(def).unwrap();
            meta.insert("magic", b"tos-vm state".as_slice()).unwrap();
            meta.insert("format_version", 3u32.to_le_bytes().as_slice())
                .unwrap();
            meta.insert("block_height", 2u64.to_le_bytes().as_slice())
                .unwrap();
            for (name, rows) in &tables {
                let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new(name);
                let mut table = txn.open_table(def).unwrap();
                for (key, value) in rows {
                    table.insert(key.as_slice(), value.as_slice()).unwrap();
                }
            }
        }
        txn.commit().unwrap();
    }
    let version_3_reads = |disk: &DiskStorage| {
        assert_eq!(
            disk.read_storage_at(&C1, &[0], 1).unwrap(),
            Some(b"v1".to_vec())
        );
        assert_eq!(
            disk.read_storage_at(&C1, &[0], 2).unwrap(),
            Some(b"v2".to_vec())
        );
        assert_eq!(
            disk.read_storage_at(&C1, &[1], 1).unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(disk.read_storage_at(&C1, &[1], 2).unwrap(), None);
        assert_eq!(
            disk.list_storage_at(&C1, 1).unwrap(),
            vec![(vec![0], b"v1".to_vec()), (vec![1], b"x".to_vec())]
        );
        assert_eq!(disk.read_balance_at(&ALICE, &NATIVE_ASSET, 1).unwrap(), 5);
        assert_eq!(disk.read_balance_at(&ALICE, &NATIVE_ASSET, 2).unwrap(), 7);
        assert_eq!(disk.read_code_at(&C2, 1).unwrap(), Some(vec![0x7f, 1]));
        assert_eq!(
            disk.read_contract_at(&ALICE, 2).unwrap(),
            Some(ContractInfo { code_hash: C2 })
        );
    };
    {
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        assert_eq!(disk.block_height().unwrap(), 2);
        version_3_reads(&disk);
        assert_eq!(disk.read_storage(&C1, &[0]).unwrap(), Some(b"v2".to_vec()));
        assert_eq!(disk.read_balance(&ALICE, &NATIVE_ASSET).unwrap(), 7);
        assert!(!disk.has_pending_changes().unwrap());
        // Blocks after the migration go into the version log and read across both.
        let (k0, k1): (&[u8], &[u8]) = (&[0], &[1]);
        let block_3 = block(&[(k0, Some(b"v3")), (k1, Some(b"y"))], Some(9));
        disk.commit_block(3, &block_3).unwrap();
        disk.commit_block(4, &block(&[(k1, None)], None)).unwrap();
        assert_eq!(disk.version_rows().unwrap().storage, 7);
    }
    assert_eq!(recorded_format_version(dir.path()), 4);
    let mut disk = DiskStorage::open(dir.path()).unwrap();
    version_3_reads(&disk);
    assert_eq!(
        disk.read_storage_at(&C1, &[0], 3).unwrap(),
        Some(b"v3".to_vec())
    );
    assert_eq!(
        disk.read_storage_at(&C1, &[1], 3).unwrap(),
        Some(b"y".to_vec())
    );
    assert_eq!(disk.read_storage_at(&C1, &[1], 4).unwrap(), None);
    assert_eq!(
        disk.list_storage_at(&C1, 3).unwrap(),
        vec![(vec![0], b"v3".to_vec()), (vec![1], b"y".to_vec())]
    );
    assert_eq!(
        disk.list_storage_at(&C1, 4).unwrap(),
        vec![(vec![0], b"v3".to_vec())]
    );
    assert_eq!(disk.read_balance_at(&ALICE, &NATIVE_ASSET, 4).unwrap(), 9);
    // Pruning folds the log and keeps every read at or above its height.
    disk.prune_below(3).unwrap();
    assert_eq!(
        disk.read_storage_at(&C1, &[0], 3).unwrap(),
        Some(b"v3".to_vec())
    );
    assert_eq!(disk.read_storage_at(&C1, &[1], 4).unwrap(), None);
    assert_eq!(disk.read_balance_at(&ALICE, &NATIVE_ASSET, 3).unwrap(), 9);
    assert!(matches!(
        disk.read_storage_at(&C1, &[0], 2),
        Err(StorageError::HeightPruned { .. })
    ));
}

#[test]
fn malformed_version_rows_are_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        // Folded at once: the versions are in the key-ordered tables damaged below.
        disk.set_log_blocks(1);
        disk.commit_block(1, &block(&[(b"k", Some(b"v"))], Some(3)))
            .unwrap();
    }
    {
        let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&[u8], &[u8]> =
                redb::TableDefinition::new("storage_versions");
            let mut table = txn.open_table(def).unwrap();
            let mut key = C1.0.to_vec();
            key.extend_from_slice(&[b'k', 0, 1]);
            key.extend_from_slice(&1u64.to_be_bytes());
            table.insert(key.as_slice(), [9u8, 9].as_slice()).unwrap();
            let mut broken = C1.0.to_vec();
            broken.extend_from_slice(&[b'z', 0, 7]);
            table.insert(broken.as_slice(), [1u8].as_slice()).unwrap();
            let def: redb::TableDefinition<&[u8], &[u8]> =
                redb::TableDefinition::new("balance_versions");
            let mut table = txn.open_table(def).unwrap();
            let mut key = ALICE.0.to_vec();
            key.extend_from_slice(&NATIVE_ASSET.0);
            key.extend_from_slice(&1u64.to_be_bytes());
            table.insert(key.as_slice(), [1u8].as_slice()).unwrap();
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut meta = txn.open_table(def).unwrap();
            meta.insert("oldest_height", [1u8, 2].as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let mut disk = DiskStorage::open(dir.path()).unwrap();
    let corrupt = |r: Result<(), StorageError>| {
        let e = r.expect_err("must be refused");
        assert!(matches!(e, StorageError::Corrupt { .. }), "{e:?}");
    };
    corrupt(disk.read_storage_at(&C1, b"k", 1).map(drop));
    corrupt(disk.oldest_height().map(drop));
    corrupt(disk.prune_below(1));
    // The latest state does not read the history.
    assert_eq!(disk.read_storage(&C1, b"k").unwrap(), Some(b"v".to_vec()));
}

/// Damaged rows of the version log (format version 4): a logged height that is not 8 bytes, a
/// log row of an unknown kind or too short for its height, a malformed logged value. Each is
/// `Corrupt` where it is read (a historical read, a listing, the fold of a prune), never a
/// panic; the latest state does not read the log.
#[test]
fn malformed_log_rows_are_corrupt_not_a_panic() {
    type Damage = fn(&redb::WriteTransaction);
    const LOG: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("version_log");
    const BLOCKS: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("log_blocks");
    // (damage, seen by the reads at heights 1 and 2, seen by the fold of a prune)
    let damages: [(&str, Damage, bool, bool); 4] = [
        (
            "a logged height of 3 bytes",
            |txn| {
                let mut blocks = txn.open_table(BLOCKS).unwrap();
                blocks.insert([0u8; 3].as_slice(), [].as_slice()).unwrap();
            },
            true,
            false,
        ),
        (
            "a log row of kind 7",
            |txn| {
                let key = [1u64.to_be_bytes().as_slice(), &[7], &C1.0].concat();
                let mut log = txn.open_table(LOG).unwrap();
                log.insert(key.as_slice(), [1u8].as_slice()).unwrap();
            },
            false,
            true,
        ),
        (
            "a log key of 4 bytes",
            |txn| {
                let mut log = txn.open_table(LOG).unwrap();
                log.insert([0u8; 4].as_slice(), [1u8].as_slice()).unwrap();
            },
            false,
            true,
        ),
        (
            "a logged storage value that is neither a value nor a deletion",
            |txn| {
                let key = [1u64.to_be_bytes().as_slice(), &[0], &C1.0, &[b'k', 0, 1]].concat();
                let mut log = txn.open_table(LOG).unwrap();
                log.insert(key.as_slice(), [9u8, 9].as_slice()).unwrap();
            },
            true,
            true,
        ),
    ];
    for (what, damage, reads_see_it, fold_sees_it) in damages {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut disk = DiskStorage::open(dir.path()).unwrap();
            disk.commit_block(1, &block(&[(b"k", Some(b"v"))], Some(3)))
                .unwrap();
            disk.commit_block(2, &block(&[(b"j", Some(b"w"))], None))
                .unwrap();
        }
        {
            let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            damage(&txn);
            txn.commit().unwrap();
        }
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        let corrupt = |r: Result<(), StorageError>| {
            let e = r.expect_err(what);
            assert!(matches!(e, StorageError::Corrupt { .. }), "{what}: {e:?}");
        };
        if reads_see_it {
            // A key block 1 did not write is looked up at every logged height.
            let k = if what.contains("height") { b"x" } else { b"k" };
            corrupt(disk.read_storage_at(&C1, k, 1).map(drop));
            corrupt(disk.list_storage_at(&C1, 2).map(drop));
        }
        assert_eq!(
            disk.read_storage(&C1, b"k").unwrap(),
            Some(b"v".to_vec()),
            "{what}"
        );
        if fold_sees_it {
            corrupt(disk.prune_below(1));
            // Refused as a whole: nothing was folded or pruned.
            assert_eq!(disk.oldest_height().unwrap(), 0, "{what}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model-based test

/// One full state.
#[derive(Debug, Clone, Default, PartialEq)]
struct Snapshot {
    storage: BTreeMap<(Hash, Vec<u8>), Vec<u8>>,
    balances: BTreeMap<(Hash, Hash), u64>,
    code: BTreeMap<Hash, Vec<u8>>,
    contracts: BTreeMap<Hash, ContractInfo>,
}

impl Snapshot {
    fn apply(&mut self, cs: &ChangeSet) {
        for (key, value) in &cs.storage {
            match value {
                Some(v) => self.storage.insert(key.clone(), v.clone()),
                None => self.storage.remove(key),
            };
        }
        for (key, amount) in &cs.balances {
            if *amount == 0 {
                self.balances.remove(key);
            } else {
                self.balances.insert(*key, *amount);
            }
        }
        for (hash, elf) in &cs.code {
            self.code.insert(*hash, elf.clone());
        }
        for (address, info) in &cs.contracts {
            self.contracts.insert(*address, *info);
        }
    }

    fn entries(&self, contract: &Hash) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.storage
            .iter()
            .filter(|((c, _), _)| c == contract)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// `snapshots[h]` is the state as of height `h`, for every `h` in `0..=block height`;
/// `latest` is the latest state (the pending block included).
#[derive(Debug, Clone)]
struct Model {
    snapshots: Vec<Snapshot>,
    latest: Snapshot,
    has_block: bool,
    oldest: u64,
}

impl Model {
    fn new() -> Model {
        Model {
            snapshots: vec![Snapshot::default()],
            latest: Snapshot::default(),
            has_block: false,
            oldest: 0,
        }
    }
    /// Whether the pending block changes anything.
    fn pending(&self) -> bool {
        self.latest != self.snapshots[self.tip() as usize]
    }
    fn tip(&self) -> u64 {
        self.snapshots.len() as u64 - 1
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A block `gap` heights above the next one (the first block: at height `gap`).
    Block(u64, ChangeSet),
    /// A block at or below the tip: refused.
    StaleBlock(u64),
    /// A plain commit: adds to the pending block.
    Amend(ChangeSet),
    /// prune_below(n % (tip + 2)): tip + 1 is refused.
    Prune(u64),
}

fn change_set() -> impl Strategy<Value = ChangeSet> {
    let storage = proptest::collection::btree_map(
        (
            proptest::sample::select(contracts().to_vec()),
            proptest::sample::select(keys().to_vec()),
        ),
        proptest::option::of(proptest::collection::vec(0u8..2, 0..2)),
        0..5,
    );
    let balances = proptest::collection::btree_map(
        (
            proptest::sample::select(accounts().to_vec()),
            proptest::sample::select(assets().to_vec()),
        ),
        0u64..3,
        0..3,
    );
    let code = proptest::collection::btree_map(
        proptest::sample::select(contracts().to_vec()),
        proptest::collection::vec(0u8..2, 1..3),
        0..2,
    );
    let instances = proptest::collection::btree_map(
        proptest::sample::select(accounts().to_vec()),
        proptest::sample::select(contracts().to_vec())
            .prop_map(|code_hash| ContractInfo { code_hash }),
        0..2,
    );
    (storage, balances, code, instances).prop_map(|(storage, balances, code, contracts)| {
        ChangeSet {
            storage,
            balances,
            code,
            contracts,
        }
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u64..3, change_set()).prop_map(|(gap, cs)| Op::Block(gap, cs)),
        1 => (0u64..3).prop_map(Op::StaleBlock),
        2 => change_set().prop_map(Op::Amend),
        2 => any::<u64>().prop_map(Op::Prune),
    ]
}

/// Applies `op` to `store` and to the model, checking the store's answer.
fn step<S: VersionedStorage>(
    store: &mut S,
    model: &mut Model,
    op: &Op,
) -> Result<(), TestCaseError> {
    match op {
        Op::Block(gap, cs) => {
            let height = if model.has_block {
                model.tip() + 1 + gap
            } else {
                *gap
            };
            store
                .commit_block(height, cs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            // The block seals the pending writes and its own changes.
            let mut next = model.latest.clone();
            next.apply(cs);
            model.latest = next.clone();
            if height == model.tip() {
                // The first block at height 0.
                model.snapshots[0] = next;
            } else {
                let last = model.snapshots.last().cloned().unwrap_or_default();
                while (model.snapshots.len() as u64) < height {
                    model.snapshots.push(last.clone());
                }
                model.snapshots.push(next);
            }
            model.has_block = true;
        }
        Op::StaleBlock(back) => {
            if !model.has_block {
                return Ok(());
            }
            let height = model.tip().saturating_sub(*back);
            let mut cs = ChangeSet::new();
            cs.set_storage(C1, vec![9], Some(vec![9]));
            let refused = store.commit_block(height, &cs);
            prop_assert!(
                matches!(refused, Err(StorageError::HeightSealed { .. })),
                "{:?}",
                refused
            );
        }
        Op::Amend(cs) => {
            store
                .commit(cs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            model.latest.apply(cs);
        }
        Op::Prune(n) => {
            let height = n % (model.tip() + 2);
            let result = store.prune_below(height);
            if height > model.tip() {
                prop_assert!(
                    matches!(result, Err(StorageError::HeightInFuture { .. })),
                    "{:?}",
                    result
                );
            } else {
                result.map_err(|e| TestCaseError::fail(e.to_string()))?;
                model.oldest = model.oldest.max(height);
            }
        }
    }
    Ok(())
}

/// Every read at every height (readable or not) agrees with the model.
fn check<S: VersionedStorage>(store: &S, model: &Model) -> Result<(), TestCaseError> {
    let tip = model.tip();
    prop_assert_eq!(store.block_height().unwrap(), tip);
    prop_assert_eq!(store.oldest_height().unwrap(), model.oldest);
    prop_assert_eq!(store.has_pending_changes().unwrap(), model.pending());
    for height in 0..=tip + 1 {
        let probe = store.read_storage_at(&C1, &[], height);
        if height > tip {
            prop_assert!(
                matches!(probe, Err(StorageError::HeightInFuture { .. })),
                "{:?}",
                probe
            );
            continue;
        }
        if height < model.oldest {
            prop_assert!(
                matches!(probe, Err(StorageError::HeightPruned { .. })),
                "{:?}",
                probe
            );
            continue;
        }
        let snapshot = &model.snapshots[height as usize];
        for contract in contracts() {
            for key in keys() {
                prop_assert_eq!(
                    store.read_storage_at(&contract, &key, height).unwrap(),
                    snapshot.storage.get(&(contract, key.clone())).cloned(),
                    "storage {:?} {:?} at {}",
                    contract,
                    key,
                    height
                );
            }
            prop_assert_eq!(
                store.list_storage_at(&contract, height).unwrap(),
                snapshot.entries(&contract)
            );
            prop_assert_eq!(
                store.read_code_at(&contract, height).unwrap(),
                snapshot.code.get(&contract).cloned()
            );
            prop_assert_eq!(
                StateAt::new(store, height)
                    .unwrap()
                    .has_code(&contract)
                    .unwrap(),
                snapshot.code.contains_key(&contract)
            );
        }
        for address in accounts() {
            prop_assert_eq!(
                store.read_contract_at(&address, height).unwrap(),
                snapshot.contracts.get(&address).copied()
            );
        }
        for account in accounts() {
            for asset in assets() {
                prop_assert_eq!(
                    store.read_balance_at(&account, &asset, height).unwrap(),
                    snapshot
                        .balances
                        .get(&(account, asset))
                        .copied()
                        .unwrap_or(0)
                );
            }
        }
    }
    // The latest state: the tip's snapshot and the pending block.
    let latest = &model.latest;
    for contract in contracts() {
        for key in keys() {
            prop_assert_eq!(
                store.read_storage(&contract, &key).unwrap(),
                latest.storage.get(&(contract, key.clone())).cloned()
            );
        }
        prop_assert_eq!(
            store.read_code(&contract).unwrap(),
            latest.code.get(&contract).cloned()
        );
        prop_assert_eq!(
            store.has_code(&contract).unwrap(),
            latest.code.contains_key(&contract)
        );
    }
    for address in accounts() {
        prop_assert_eq!(
            store.read_contract(&address).unwrap(),
            latest.contracts.get(&address).copied()
        );
    }
    for account in accounts() {
        for asset in assets() {
            prop_assert_eq!(
                store.read_balance(&account, &asset).unwrap(),
                latest.balances.get(&(account, asset)).copied().unwrap_or(0)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Blocks, plain commits into the pending block, refused blocks and prunes, on both
    /// adapters: every read at every height matches the snapshots (so a plain commit never
    /// changes a sealed height, and pruning never changes a read at a height at or above the
    /// prune height), and the latest state matches the model's.
    ///
    /// The disk store's version log is folded every `log_blocks` blocks (1: every block, as
    /// format version 3 wrote; otherwise reads find versions in the log, in the key-ordered
    /// tables, or across both).
    #[test]
    fn versioned_reads_match_snapshots(
        ops in proptest::collection::vec(op(), 1..12),
        log_blocks in 1u64..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        disk.set_log_blocks(log_blocks);
        let mut memory = MemoryStorage::new();
        let mut disk_model = Model::new();
        let mut memory_model = Model::new();
        for op in &ops {
            let oldest_before = disk_model.oldest;
            step(&mut disk, &mut disk_model, op)?;
            step(&mut memory, &mut memory_model, op)?;
            check(&disk, &disk_model)?;
            check(&memory, &memory_model)?;
            prop_assert_eq!(disk.list_balances().unwrap(), memory.balances());
            prop_assert_eq!(disk.list_code().unwrap(), memory.code_hashes());
            prop_assert_eq!(disk.list_contracts().unwrap(), memory.contracts());
            for contract in contracts() {
                prop_assert_eq!(disk.list_storage(&contract).unwrap(), memory.storage_entries(&contract));
            }
            if let Op::Prune(n) = op {
                // Pruned at the tip: one version per live value, nothing else.
                let height = n % (disk_model.tip() + 2);
                if height == disk_model.tip() && height > oldest_before && !disk_model.pending() {
                    let latest = &disk_model.latest;
                    for rows in [disk.version_rows().unwrap(), memory.version_rows()] {
                        prop_assert_eq!(rows.storage, latest.storage.len() as u64);
                        prop_assert_eq!(rows.balances, latest.balances.len() as u64);
                        prop_assert_eq!(rows.code, latest.code.len() as u64);
                        prop_assert_eq!(rows.contracts, latest.contracts.len() as u64);
                    }
                }
            }
        }
        drop(disk);
        let disk = DiskStorage::open(dir.path()).unwrap();
        check(&disk, &disk_model)?;
    }
}
