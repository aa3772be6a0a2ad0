//! DiskStorage: persistence, agreement with MemoryStorage, and refusal of bad files.

use proptest::prelude::*;
use std::path::Path;
use tos_storage::{
    ChangeSet, ContractInfo, DiskStorage, Hash, MemoryStorage, StorageError, StorageProvider,
    NATIVE_ASSET,
};

const C1: Hash = Hash([1; 32]);
const ALICE: Hash = Hash([0xA1; 32]);
const TOKEN: Hash = Hash([0x70; 32]);

fn sample_changes() -> ChangeSet {
    let mut cs = ChangeSet::new();
    cs.set_storage(C1, b"count".to_vec(), Some(7u64.to_le_bytes().to_vec()));
    cs.set_storage(C1, b"".to_vec(), Some(b"empty key".to_vec()));
    cs.set_storage(C1, b"empty value".to_vec(), Some(Vec::new()));
    cs.set_balance(ALICE, NATIVE_ASSET, 1_000);
    cs.set_balance(ALICE, TOKEN, u64::MAX);
    cs.deploy_code(C1, b"\x7fELF fake".to_vec());
    cs
}

#[test]
fn commit_then_reopen_sees_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("nested").join("state");
    {
        let mut disk = DiskStorage::open(&state_dir).unwrap();
        assert!(disk.path().ends_with("state.redb"));
        disk.commit(&sample_changes()).unwrap();
    }
    let disk = DiskStorage::open(&state_dir).unwrap();
    assert_eq!(
        disk.read_storage(&C1, b"count").unwrap(),
        Some(7u64.to_le_bytes().to_vec())
    );
    assert_eq!(
        disk.read_storage(&C1, b"").unwrap(),
        Some(b"empty key".to_vec())
    );
    assert_eq!(
        disk.read_storage(&C1, b"empty value").unwrap(),
        Some(Vec::new())
    );
    assert_eq!(disk.read_storage(&C1, b"absent").unwrap(), None);
    assert_eq!(disk.read_balance(&ALICE, &NATIVE_ASSET).unwrap(), 1_000);
    assert_eq!(disk.read_balance(&ALICE, &TOKEN).unwrap(), u64::MAX);
    assert_eq!(disk.read_balance(&C1, &TOKEN).unwrap(), 0);
    assert_eq!(disk.read_code(&C1).unwrap(), Some(b"\x7fELF fake".to_vec()));
    assert_eq!(disk.read_code(&ALICE).unwrap(), None);
    assert_eq!(disk.list_code().unwrap(), vec![C1]);
    assert_eq!(
        disk.list_balances().unwrap(),
        vec![(ALICE, NATIVE_ASSET, 1_000), (ALICE, TOKEN, u64::MAX)]
    );
    assert_eq!(disk.block_height().unwrap(), 0);
}

#[test]
fn deletes_and_zero_balances_remove_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut disk = DiskStorage::open(dir.path()).unwrap();
    disk.commit(&sample_changes()).unwrap();
    let mut cs = ChangeSet::new();
    cs.set_storage(C1, b"count".to_vec(), None);
    cs.set_storage(C1, b"never existed".to_vec(), None);
    cs.set_balance(ALICE, TOKEN, 0);
    disk.commit(&cs).unwrap();
    assert_eq!(disk.read_storage(&C1, b"count").unwrap(), None);
    assert_eq!(disk.read_balance(&ALICE, &TOKEN).unwrap(), 0);
    assert_eq!(
        disk.list_balances().unwrap(),
        vec![(ALICE, NATIVE_ASSET, 1_000)]
    );
    assert_eq!(disk.list_storage(&C1).unwrap().len(), 2);
}

#[test]
fn block_height_is_committed_with_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        assert_eq!(disk.block_height().unwrap(), 0);
        disk.commit_with_height(&sample_changes(), 41).unwrap();
        assert_eq!(disk.block_height().unwrap(), 41);
        // A plain commit leaves the height alone.
        disk.commit(&ChangeSet::new()).unwrap();
        assert_eq!(disk.block_height().unwrap(), 41);
        disk.set_block_height(42).unwrap();
    }
    let disk = DiskStorage::open(dir.path()).unwrap();
    assert_eq!(disk.block_height().unwrap(), 42);
    assert_eq!(disk.read_balance(&ALICE, &NATIVE_ASSET).unwrap(), 1_000);
}

#[test]
fn list_storage_keeps_contracts_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut disk = DiskStorage::open(dir.path()).unwrap();
    // Contracts whose hashes are neighbours, and a key that looks like a hash prefix.
    let low = Hash([1; 32]);
    let mut high_bytes = [1; 32];
    high_bytes[31] = 2;
    let high = Hash(high_bytes);
    let mut below_bytes = [1; 32];
    below_bytes[31] = 0;
    let below = Hash(below_bytes);
    let mut cs = ChangeSet::new();
    cs.set_storage(low, vec![2, 0xff], Some(b"low-1".to_vec()));
    cs.set_storage(low, vec![], Some(b"low-0".to_vec()));
    cs.set_storage(high, vec![], Some(b"high".to_vec()));
    cs.set_storage(below, vec![0xff; 40], Some(b"below".to_vec()));
    disk.commit(&cs).unwrap();
    assert_eq!(
        disk.list_storage(&low).unwrap(),
        vec![
            (vec![], b"low-0".to_vec()),
            (vec![2, 0xff], b"low-1".to_vec())
        ]
    );
    assert_eq!(
        disk.list_storage(&high).unwrap(),
        vec![(vec![], b"high".to_vec())]
    );
    assert_eq!(
        disk.list_storage(&below).unwrap(),
        vec![(vec![0xff; 40], b"below".to_vec())]
    );
    assert!(disk.list_storage(&Hash([9; 32])).unwrap().is_empty());
}

#[test]
fn a_second_open_of_the_same_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = DiskStorage::open(dir.path()).unwrap();
    match DiskStorage::open(dir.path()) {
        Err(StorageError::AlreadyOpen { path }) => assert!(path.ends_with("state.redb")),
        other => panic!("expected AlreadyOpen, got {other:?}"),
    }
}

fn write_state_file(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join("state.redb"), bytes).unwrap();
}

#[test]
fn garbage_file_is_a_clear_error() {
    for garbage in [
        &b"hello, this is not a database"[..],
        &b"x"[..],
        &[0u8; 5000][..],
        // redb's signature followed by nonsense.
        &[
            b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A, 1, 2, 3,
        ][..],
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_state_file(dir.path(), garbage);
        let err = DiskStorage::open(dir.path()).expect_err("garbage must not open");
        assert!(err.is_backend());
        assert!(
            matches!(
                err,
                StorageError::Foreign { .. } | StorageError::Corrupt { .. }
            ),
            "{err:?}"
        );
        // The file is left as it was.
        assert_eq!(
            std::fs::read(dir.path().join("state.redb")).unwrap(),
            garbage
        );
    }
}

#[test]
fn empty_file_is_initialized() {
    let dir = tempfile::tempdir().unwrap();
    write_state_file(dir.path(), b"");
    let disk = DiskStorage::open(dir.path()).unwrap();
    assert_eq!(disk.block_height().unwrap(), 0);
}

#[test]
fn state_dir_that_is_a_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        DiskStorage::open(&file),
        Err(StorageError::Io { .. })
    ));
}

#[test]
fn foreign_redb_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("somebody_else");
            txn.open_table(def).unwrap().insert(1, 2).unwrap();
        }
        txn.commit().unwrap();
    }
    assert!(matches!(
        DiskStorage::open(dir.path()),
        Err(StorageError::Foreign { .. })
    ));

    // A table called "meta" with other types is foreign too.
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("meta");
            txn.open_table(def).unwrap().insert(1, 2).unwrap();
        }
        txn.commit().unwrap();
    }
    assert!(matches!(
        DiskStorage::open(dir.path()),
        Err(StorageError::Foreign { .. })
    ));
}

#[test]
fn other_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(DiskStorage::open(dir.path()).unwrap());
    {
        let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut meta = txn.open_table(def).unwrap();
            meta.insert("format_version", 99u32.to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    match DiskStorage::open(dir.path()) {
        Err(StorageError::UnsupportedVersion {
            found: 99,
            supported: 4,
        }) => {}
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

#[test]
fn malformed_balance_row_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    drop(DiskStorage::open(dir.path()).unwrap());
    {
        let db = redb::Database::create(dir.path().join("state.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("balances");
            let mut balances = txn.open_table(def).unwrap();
            let mut key = [0xA1u8; 64];
            key[32..].fill(0);
            balances
                .insert(key.as_slice(), [1u8, 2, 3].as_slice())
                .unwrap();
            balances
                .insert([7u8; 3].as_slice(), 5u64.to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let disk = DiskStorage::open(dir.path()).unwrap();
    assert!(matches!(
        disk.read_balance(&ALICE, &NATIVE_ASSET),
        Err(StorageError::Corrupt { .. })
    ));
    assert!(matches!(
        disk.list_balances(),
        Err(StorageError::Corrupt { .. })
    ));
}

/// Damage a real state file at many places: every open must return (Ok or Err), never panic.
#[test]
fn damaged_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        for round in 0..5u8 {
            let mut cs = sample_changes();
            for i in 0..50u8 {
                cs.set_storage(Hash([i; 32]), vec![round, i], Some(vec![i; 100]));
            }
            disk.commit_with_height(&cs, u64::from(round)).unwrap();
        }
    }
    let path = dir.path().join("state.redb");
    let pristine = std::fs::read(&path).unwrap();
    let len = pristine.len();
    assert!(len > 4096);
    // Header bytes one by one, then a stride through the rest of the file.
    let mut offsets: Vec<usize> = (0..512).step_by(3).collect();
    offsets.extend((512..len).step_by(len / 150 + 1));
    let mut refused = 0;
    for (n, &offset) in offsets.iter().enumerate() {
        let mut damaged = pristine.clone();
        damaged[offset] ^= 0x5A ^ (n as u8 | 1);
        std::fs::write(&path, &damaged).unwrap();
        let opened = std::panic::catch_unwind(|| {
            let disk = DiskStorage::open(dir.path())?;
            disk.list_balances()?;
            disk.list_storage(&C1)?;
            disk.block_height()
        });
        match opened {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                assert!(e.is_backend(), "{e:?}");
                refused += 1;
            }
            Err(_) => panic!("open panicked on a file damaged at offset {offset}"),
        }
    }
    assert!(refused > 0);

    // Truncated copies of the file.
    for cut in [1, 9, 64, 512, 4096, len / 3, len / 2, len - 4096, len - 1] {
        std::fs::write(&path, &pristine[..cut]).unwrap();
        let opened = std::panic::catch_unwind(|| {
            let disk = DiskStorage::open(dir.path())?;
            disk.list_balances()
        });
        match opened {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => assert!(e.is_backend(), "{e:?}"),
            Err(_) => panic!("open panicked on a file truncated to {cut} bytes"),
        }
    }
}

/// Small domains so that random change sets collide on keys.
fn hash_strategy() -> impl Strategy<Value = Hash> {
    (0u8..4).prop_map(|b| Hash([b; 32]))
}

fn change_set_strategy() -> impl Strategy<Value = ChangeSet> {
    let storage = proptest::collection::btree_map(
        (hash_strategy(), proptest::collection::vec(0u8..3, 0..3)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        0..12,
    );
    let balances = proptest::collection::btree_map(
        (hash_strategy(), hash_strategy()),
        prop_oneof![Just(0u64), any::<u64>(), 1u64..10],
        0..8,
    );
    let code = proptest::collection::btree_map(
        hash_strategy(),
        proptest::collection::vec(any::<u8>(), 0..16),
        0..3,
    );
    let contracts = proptest::collection::btree_map(
        hash_strategy(),
        hash_strategy().prop_map(|code_hash| ContractInfo { code_hash }),
        0..3,
    );
    (storage, balances, code, contracts).prop_map(|(storage, balances, code, contracts)| {
        ChangeSet {
            storage,
            balances,
            code,
            contracts,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The same sequence of change sets gives the same reads on both adapters.
    #[test]
    fn memory_and_disk_agree(sets in proptest::collection::vec(change_set_strategy(), 1..4)) {
        let dir = tempfile::tempdir().unwrap();
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        let mut memory = MemoryStorage::new();
        for cs in &sets {
            disk.commit(cs).unwrap();
            memory.commit(cs).unwrap();
        }
        for c in 0u8..4 {
            let contract = Hash([c; 32]);
            prop_assert_eq!(disk.list_storage(&contract).unwrap(), memory.storage_entries(&contract));
            for key in [vec![], vec![0], vec![1, 2], vec![2, 2]] {
                prop_assert_eq!(
                    disk.read_storage(&contract, &key).unwrap(),
                    memory.read_storage(&contract, &key).unwrap()
                );
            }
            for a in 0u8..4 {
                let asset = Hash([a; 32]);
                prop_assert_eq!(
                    disk.read_balance(&contract, &asset).unwrap(),
                    memory.read_balance(&contract, &asset).unwrap()
                );
            }
            prop_assert_eq!(disk.read_code(&contract).unwrap(), memory.read_code(&contract).unwrap());
            prop_assert_eq!(disk.has_code(&contract).unwrap(), memory.has_code(&contract).unwrap());
            prop_assert_eq!(disk.read_contract(&contract).unwrap(), memory.read_contract(&contract).unwrap());
        }
        prop_assert_eq!(disk.list_balances().unwrap(), memory.balances());
        prop_assert_eq!(disk.list_code().unwrap(), memory.code_hashes());
        prop_assert_eq!(disk.list_contracts().unwrap(), memory.contracts());
        // And after a reopen.
        drop(disk);
        let disk = DiskStorage::open(dir.path()).unwrap();
        prop_assert_eq!(disk.list_balances().unwrap(), memory.balances());
    }
}
