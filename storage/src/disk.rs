//! [`DiskStorage`]: chain state in an embedded [redb](https://www.redb.org) database, versioned
//! by block height.
//!
//! One file, `<dir>/state.redb`. Every key and value is raw bytes, decoded and length-checked
//! here, so a damaged row is a [`StorageError::Corrupt`], never a panic. Format version 4
//! (a version 3 file is migrated when opened, see below; version 2 addressed contracts by
//! code hash, and a version 2 file is refused with [`StorageError::UnsupportedVersion`],
//! never misread):
//!
//! | table              | key                                            | value                                   |
//! |--------------------|------------------------------------------------|-----------------------------------------|
//! | `storage`          | contract (32) ++ user key                      | user value (live keys only)             |
//! | `balances`         | account (32) ++ asset (32)                     | u64 LE (non-zero balances only)         |
//! | `code`             | code hash (32)                                 | height of its newest version, u64 LE    |
//! | `storage_versions` | contract (32) ++ esc(user key) ++ height (u64 BE) | `0x00` deleted / `0x01` ++ value     |
//! | `balance_versions` | account (32) ++ asset (32) ++ height (u64 BE)  | u64 LE (0 = no balance)                 |
//! | `code_versions`    | code hash (32) ++ height (u64 BE)              | ELF bytes                               |
//! | `contracts`        | instance address (32)                          | code hash (32)                          |
//! | `contract_versions`| instance address (32) ++ height (u64 BE)       | code hash (32)                          |
//! | `meta`             | `"magic"`, `"format_version"`, `"block_height"`, `"oldest_height"` | bytes / u32 LE / u64 LE / u64 LE |
//! | `pending`          | kind (1) ++ version prefix of a key the pending block changed | empty                |
//! | `version_log`      | height (u64 BE) ++ kind (1) ++ version prefix   | the version's value, as in its versions table |
//! | `log_blocks`       | height (u64 BE) of a block with rows in `version_log` | empty                          |
//!
//! Kinds: 0 storage (prefix `contract ++ esc(user key)`), 1 balance (`account ++ asset`),
//! 2 code, 3 contract instance; only storage and balances go through the log.
//!
//! **The version log** (new in version 4). A block committed over an empty pending block
//! writes its storage and balance versions into `version_log`, keyed by height first: the
//! block's rows are one sorted run appended at the end of the table (a few pages), where the
//! key-ordered `storage_versions` would dirty a leaf page per changed key once keys have
//! history. When a block makes `log_blocks` [`DEFAULT_LOG_BLOCKS`] long
//! ([`DiskStorage::set_log_blocks`]), the same write transaction folds the log: every row moves
//! to its kind's versions table (`prefix ++ height`, same value) in one sorted pass, and the
//! log tables are emptied. So every logged height is above every height in the key-ordered
//! tables, and a historical read looks the key up in the logged blocks at or below its height,
//! newest first, then (on a miss) in the key-ordered table as before. A plain commit into the
//! pending block and [`DiskStorage::prune_below`] fold the log first, so the pending path and
//! pruning work on the key-ordered tables alone, as in version 3. (The same split as reth's
//! block-keyed change sets beside history indices built in batches, with the values kept in
//! the index instead of the change sets.)
//!
//! **Migration from version 3.** A version 3 file is a version 4 file with an empty log: the
//! open adds the two log tables and writes format version 4 in one write transaction, so a
//! crash during it leaves the file as it was. Nothing else is rewritten.
//!
//! `esc` escapes each `0x00` of the user key as `0x00 0xFF` and ends the key with `0x00 0x01`:
//! the versions of one key are one contiguous range, ordered by height (big-endian), and keys
//! keep their byte order, so "newest version at or below H" is one backwards range step and a
//! contract's history is one range. `storage` and `balances` hold the latest state itself (one
//! lookup per read, and plain range scans for listings); `code` holds a pointer to the newest
//! version so that ELFs are not stored twice. A version is written only where a value changes.
//!
//! Versions of the pending block (plain [`StorageProvider::commit`]s since the last block) are
//! rows at height `u64::MAX`, listed in `pending`; [`DiskStorage::commit_block`] moves them to
//! the block's height, so a committed height is never written again.
//!
//! Every write ([`DiskStorage::commit_block`], [`StorageProvider::commit`],
//! [`DiskStorage::prune_below`]) is one redb write transaction committed with
//! `Durability::Immediate` (fsync'd): after a crash the file holds all of it or none of it.
//! See [`VersionedStorage`] for the block / read / prune semantics.

use crate::changes::ChangeSet;
use crate::error::StorageError;
use crate::types::{ContractInfo, Hash};
use crate::versioned::{check_new_block, check_readable, StateAt, VersionRows, VersionedStorage};
use crate::StorageProvider;
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Name of the database file inside the state directory.
pub const STATE_FILE: &str = "state.redb";
/// Version of the table layout written by this build. A version 3 file is migrated on open
/// (see [`DiskStorage::open`]); older and newer versions are refused.
pub const FORMAT_VERSION: u32 = 4;
/// The previous layout: version 4 without the version log. Its versions tables are exactly a
/// version 4 store's with an empty log, so migrating adds the two log tables and the version.
const FORMAT_VERSION_3: u32 = 3;

const MAGIC: &[u8] = b"tos-vm state";
/// redb's file signature (first 9 bytes of every redb file).
const REDB_SIGNATURE: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

const STORAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storage");
const BALANCES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("balances");
const CODE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("code");
const STORAGE_VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storage_versions");
const BALANCE_VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("balance_versions");
const CODE_VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("code_versions");
const CONTRACTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("contracts");
const CONTRACT_VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("contract_versions");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The keys the pending block changed: kind ++ version prefix (see [`PENDING`]).
const PENDING_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("pending");
/// Storage and balance versions of the newest blocks, in block order (format version 4):
/// height (u64 BE) ++ kind ++ version prefix → the version's value, as in the versions table
/// of its kind. A block appends its rows as one run at the end of the table, so it dirties a
/// few pages instead of a leaf of the key-ordered versions table per changed key; every
/// [`DEFAULT_LOG_BLOCKS`] blocks the log is folded into the key-ordered tables in one sorted
/// pass (see [`fold_log`]).
const VERSION_LOG: TableDefinition<&[u8], &[u8]> = TableDefinition::new("version_log");
/// The heights that have rows in [`VERSION_LOG`]: height (u64 BE) → empty. A historical read
/// looks its key up at each of these at or below its height, newest first.
const LOG_BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("log_blocks");

/// How many blocks the version log holds before a block folds it into the key-ordered
/// versions tables (see [`DiskStorage::set_log_blocks`]). A historical read costs up to this
/// many point lookups in the log; each fold writes every key the logged blocks changed once,
/// instead of once per block.
pub const DEFAULT_LOG_BLOCKS: u64 = 64;

/// The height of the pending block's versions: `commit` writes there, above every readable
/// height, and `commit_block` moves them to the block's height (sealing them).
const PENDING: u64 = u64::MAX;
const KIND_STORAGE: u8 = 0;
const KIND_BALANCE: u8 = 1;
const KIND_CODE: u8 = 2;
const KIND_CONTRACT: u8 = 3;

/// Sets the pending version of the key whose versions start with `prefix` to `value`, or
/// removes it when `value` equals the newest sealed version (or is a deletion and there is
/// none), keeping the pending keys table in step. Returns the height of the key's newest
/// version afterwards: [`PENDING`], or the newest sealed one's (`None`: no version).
fn put_pending(
    versions: &mut redb::Table<&'static [u8], &'static [u8]>,
    pending: &mut redb::Table<&'static [u8], &'static [u8]>,
    kind: u8,
    prefix: &[u8],
    value: &[u8],
    is_absent: impl Fn(&[u8]) -> bool,
) -> Result<Option<u64>, StorageError> {
    let sealed = newest_version_at(versions, prefix, PENDING - 1, "reading a sealed version")?;
    let same_as_sealed = match &sealed {
        Some((_, sealed)) => sealed.as_slice() == value,
        None => is_absent(value),
    };
    let version = with_height(prefix, PENDING);
    let mut pending_key = Vec::with_capacity(1 + prefix.len());
    pending_key.push(kind);
    pending_key.extend_from_slice(prefix);
    if same_as_sealed {
        versions
            .remove(version.as_slice())
            .map_err(|e| StorageError::from_redb("removing a pending version", e))?;
        pending
            .remove(pending_key.as_slice())
            .map_err(|e| StorageError::from_redb("removing a pending key", e))?;
        Ok(sealed.map(|(height, _)| height))
    } else {
        versions
            .insert(version.as_slice(), value)
            .map_err(|e| StorageError::from_redb("writing a pending version", e))?;
        pending
            .insert(pending_key.as_slice(), [].as_slice())
            .map_err(|e| StorageError::from_redb("writing a pending key", e))?;
        Ok(Some(PENDING))
    }
}

/// Where [`DiskStorage::apply`] writes the version of a key a change set changes.
#[derive(Clone, Copy)]
enum VersionTarget {
    /// Into the pending block (at [`PENDING`], listed in `pending`): a plain commit, or a
    /// block over a pending block that already holds changes.
    Pending,
    /// Straight at the block's height: a block committed over an empty pending block. Every
    /// key's latest value is then its newest sealed version, so a key whose value changes gets
    /// exactly the version the pending path would write and then seal, with one insert
    /// instead of a range lookup, two inserts, a pending-key row, a removal and a re-insert.
    Sealed(u64),
}

/// Writes the version of a key whose latest value just changed to `value` (see
/// [`VersionTarget`]); returns the height of the key's newest version afterwards, as
/// [`put_pending`] does.
fn put_version(
    target: VersionTarget,
    versions: &mut redb::Table<&'static [u8], &'static [u8]>,
    pending: &mut redb::Table<&'static [u8], &'static [u8]>,
    kind: u8,
    prefix: &mut Vec<u8>,
    value: &[u8],
    is_absent: impl Fn(&[u8]) -> bool,
) -> Result<Option<u64>, StorageError> {
    match target {
        VersionTarget::Pending => put_pending(versions, pending, kind, prefix, value, is_absent),
        VersionTarget::Sealed(height) => {
            // The version key is the prefix with the height appended, in the caller's buffer.
            let len = prefix.len();
            prefix.extend_from_slice(&height.to_be_bytes());
            let inserted = versions.insert(prefix.as_slice(), value);
            prefix.truncate(len);
            inserted.map_err(|e| StorageError::from_redb("writing a version", e))?;
            Ok(Some(height))
        }
    }
}

const META_MAGIC: &str = "magic";
const META_VERSION: &str = "format_version";
/// Height of the last committed block; absent before the first block.
const META_HEIGHT: &str = "block_height";
/// Oldest readable height (the last prune height); absent = 0.
const META_OLDEST: &str = "oldest_height";

/// A `contracts` / `contract_versions` value: the instance's code hash.
fn decode_contract(bytes: &[u8]) -> Result<ContractInfo, StorageError> {
    Ok(ContractInfo {
        code_hash: decode_hash(bytes, "a contract's code hash")?,
    })
}

/// Tag of a storage version: the key was deleted at that height.
const TAG_DELETED: u8 = 0;
/// Tag of a storage version: the value follows.
const TAG_VALUE: u8 = 1;

/// Cap on redb's page cache (it grows up to this as pages are read).
const CACHE_BYTES: usize = 128 * 1024 * 1024;

/// Chain state on disk. See the module documentation for the layout.
pub struct DiskStorage {
    db: Database,
    path: PathBuf,
    /// The latest-state tables open in one read transaction, shared by every
    /// [`StorageProvider`] read until the next write; see [`Snapshot`].
    snapshot: OnceLock<Snapshot>,
    /// The version log is folded when a block makes it this many blocks long.
    log_blocks: u64,
}

// A node shares one store between the threads that execute a block.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<DiskStorage>();
};

type RawTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// The tables [`StorageProvider`]'s reads use, open in one redb read transaction.
///
/// A read transaction plus a table open per read cost more than the lookup itself (a
/// transfer makes four or five reads). Every write takes `&mut self` and drops the snapshot
/// before it begins, so no read can see a state older than the last commit, and no snapshot
/// is open while redb commits (an open read transaction would keep the pages it sees from
/// being reused).
struct Snapshot {
    storage: RawTable,
    balances: RawTable,
    contracts: RawTable,
    code: RawTable,
    code_versions: RawTable,
}

impl Snapshot {
    fn open(db: &Database) -> Result<Snapshot, StorageError> {
        let txn = db
            .begin_read()
            .map_err(|e| StorageError::from_redb("beginning a read transaction", e))?;
        let open = |table: TableDefinition<&'static [u8], &'static [u8]>, what: &str| {
            txn.open_table(table)
                .map_err(|e| StorageError::from_redb(&format!("opening the {what} table"), e))
        };
        Ok(Snapshot {
            storage: open(STORAGE, "storage")?,
            balances: open(BALANCES, "balances")?,
            contracts: open(CONTRACTS, "contracts")?,
            code: open(CODE, "code")?,
            code_versions: open(CODE_VERSIONS, "code versions")?,
        })
    }
}

impl std::fmt::Debug for DiskStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStorage")
            .field("path", &self.path)
            .finish()
    }
}

/// `f(contract ++ key)`, the key built on the stack when it is short (every read builds one).
fn with_storage_key<R>(contract: &Hash, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    const ROOM: usize = 128;
    if key.len() <= ROOM - 32 {
        let mut full = [0u8; ROOM];
        full[..32].copy_from_slice(&contract.0);
        full[32..32 + key.len()].copy_from_slice(key);
        f(&full[..32 + key.len()])
    } else {
        f(&storage_key(contract, key))
    }
}

fn storage_key(contract: &Hash, key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(32 + key.len());
    full.extend_from_slice(&contract.0);
    full.extend_from_slice(key);
    full
}

fn balance_key(account: &Hash, asset: &Hash) -> [u8; 64] {
    let mut full = [0u8; 64];
    full[..32].copy_from_slice(&account.0);
    full[32..].copy_from_slice(&asset.0);
    full
}

fn decode_u64(bytes: &[u8], what: &str) -> Result<u64, StorageError> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| {
        StorageError::corrupt(format!("{what} is {} bytes, expected 8", bytes.len()))
    })?;
    Ok(u64::from_le_bytes(array))
}

fn decode_hash(bytes: &[u8], what: &str) -> Result<Hash, StorageError> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| {
        StorageError::corrupt(format!("{what} is {} bytes, expected 32", bytes.len()))
    })?;
    Ok(Hash(array))
}

/// `esc(key)`: every `0x00` becomes `0x00 0xFF`, then the terminator `0x00 0x01`. Prefix-free
/// and order-preserving (see the module documentation).
fn push_escaped(out: &mut Vec<u8>, key: &[u8]) {
    // The runs between zero bytes are copied whole, into room reserved once (an address of a
    // small number is mostly zeros).
    let zeros = key.iter().filter(|&&byte| byte == 0).count();
    out.reserve(key.len() + zeros + 2);
    let mut runs = key.split(|&byte| byte == 0);
    if let Some(first) = runs.next() {
        out.extend_from_slice(first);
    }
    for run in runs {
        out.extend_from_slice(&[0x00, 0xFF]);
        out.extend_from_slice(run);
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// contract ++ esc(key): the common prefix of every version of one storage key.
fn storage_version_prefix(contract: &Hash, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + key.len() + 2 + 8);
    out.extend_from_slice(&contract.0);
    push_escaped(&mut out, key);
    out
}

fn with_height(prefix: &[u8], height: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 8);
    out.extend_from_slice(prefix);
    out.extend_from_slice(&height.to_be_bytes());
    out
}

/// Splits a version key into (prefix shared by the key's versions, height).
fn split_height<'k>(key: &'k [u8], what: &str) -> Result<(&'k [u8], u64), StorageError> {
    if key.len() < 8 {
        return Err(StorageError::corrupt(format!(
            "a {what} version key is {} bytes, too short for its height",
            key.len()
        )));
    }
    let (prefix, height) = key.split_at(key.len() - 8);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(height);
    Ok((prefix, u64::from_be_bytes(bytes)))
}

/// Decodes a `storage_versions` key into (user key, height); `contract` must be its first 32
/// bytes.
fn decode_storage_version_key(key: &[u8]) -> Result<(Vec<u8>, u64), StorageError> {
    let bad = |why: &str| StorageError::corrupt(format!("a storage version key {why}"));
    let rest = key
        .get(32..)
        .ok_or_else(|| bad("is shorter than a contract hash"))?;
    let mut user = Vec::with_capacity(rest.len());
    let mut i = 0;
    loop {
        match rest.get(i) {
            None => return Err(bad("has no key terminator")),
            Some(0) => match rest.get(i + 1) {
                Some(0xFF) => {
                    user.push(0);
                    i += 2;
                }
                Some(0x01) => {
                    i += 2;
                    break;
                }
                _ => return Err(bad("has a bad escape")),
            },
            Some(&byte) => {
                user.push(byte);
                i += 1;
            }
        }
    }
    let height: [u8; 8] = rest[i..]
        .try_into()
        .map_err(|_| bad("does not end with an 8-byte height"))?;
    Ok((user, u64::from_be_bytes(height)))
}

/// A `storage_versions` value: `Some(value)` or `None` for a deletion.
fn decode_storage_version(bytes: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
    match bytes.split_first() {
        Some((&TAG_VALUE, value)) => Ok(Some(value.to_vec())),
        Some((&TAG_DELETED, [])) => Ok(None),
        _ => Err(StorageError::corrupt(
            "a storage version is neither a value nor a deletion",
        )),
    }
}

/// Appends the `storage_versions` value of `value` (`None`: a deletion) to `out`.
fn push_storage_version(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => {
            out.push(TAG_VALUE);
            out.extend_from_slice(value);
        }
        None => out.push(TAG_DELETED),
    }
}

/// The newest row of `table` in `prefix ++ 0 ..= prefix ++ height`, if any.
fn newest_at<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    prefix: &[u8],
    height: u64,
    what: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    Ok(newest_version_at(table, prefix, height, what)?.map(|(_, value)| value))
}

/// [`newest_at`] with the version's height.
fn newest_version_at<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    prefix: &[u8],
    height: u64,
    what: &str,
) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
    let low = with_height(prefix, 0);
    let high = with_height(prefix, height);
    let mut range = table
        .range::<&[u8]>(low.as_slice()..=high.as_slice())
        .map_err(|e| StorageError::from_redb(what, e))?;
    match range.next_back() {
        Some(item) => {
            let (key, value) = item.map_err(|e| StorageError::from_redb(what, e))?;
            let (_, version) = split_height(key.value(), what)?;
            Ok(Some((version, value.value().to_vec())))
        }
        None => Ok(None),
    }
}

/// (block height, oldest readable height) as recorded in `meta`; the height is `None` before the
/// first block.
fn read_heights<T: ReadableTable<&'static str, &'static [u8]>>(
    meta: &T,
) -> Result<(Option<u64>, u64), StorageError> {
    let tip = match meta
        .get(META_HEIGHT)
        .map_err(|e| StorageError::from_redb("reading the block height", e))?
    {
        Some(value) => Some(decode_u64(value.value(), "the block height")?),
        None => None,
    };
    let oldest = match meta
        .get(META_OLDEST)
        .map_err(|e| StorageError::from_redb("reading the oldest height", e))?
    {
        Some(value) => decode_u64(value.value(), "the oldest height")?,
        None => 0,
    };
    Ok((tip, oldest))
}

/// Collects the rows of one versions table that `prune_below(height)` removes: walking each
/// key's versions from the newest down, the first at or below `height` is kept (unless it is a
/// deletion), every older one goes.
fn collect_pruned<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    height: u64,
    what: &str,
    is_deletion: impl Fn(&[u8]) -> Result<bool, StorageError>,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut doomed = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut kept = false;
    let mut first = true;
    let iter = table
        .iter()
        .map_err(|e| StorageError::from_redb(what, e))?
        .rev();
    for item in iter {
        let (key, value) = item.map_err(|e| StorageError::from_redb(what, e))?;
        let key = key.value();
        let (prefix, version) = split_height(key, what)?;
        if first || prefix != current.as_slice() {
            first = false;
            current.clear();
            current.extend_from_slice(prefix);
            kept = false;
        }
        if version > height {
            continue;
        }
        if kept || is_deletion(value.value())? {
            doomed.push(key.to_vec());
        }
        kept = true;
    }
    Ok(doomed)
}

/// `height (BE) ++ kind ++ prefix` into `out`: the key of a [`VERSION_LOG`] row.
fn log_key(out: &mut Vec<u8>, height: &[u8], kind: u8, prefix: &[u8]) {
    out.clear();
    out.extend_from_slice(height);
    out.push(kind);
    out.extend_from_slice(prefix);
}

/// A [`LOG_BLOCKS`] key: a height, 8 bytes big-endian.
fn decode_log_height(bytes: &[u8]) -> Result<[u8; 8], StorageError> {
    bytes.try_into().map_err(|_| {
        StorageError::corrupt(format!(
            "a logged block height is {} bytes, expected 8",
            bytes.len()
        ))
    })
}

/// The newest logged version at or below `height` of the key whose versions start with
/// `prefix`: one point lookup per logged block at or below `height`, newest first. Every
/// logged height is above every height in the key-ordered tables (see [`fold_log`]), so a hit
/// here is the key's newest version at or below `height`, and a miss sends the reader there.
fn newest_logged_at<L, B>(
    log: &L,
    blocks: &B,
    kind: u8,
    prefix: &[u8],
    height: u64,
    what: &str,
) -> Result<Option<Vec<u8>>, StorageError>
where
    L: ReadableTable<&'static [u8], &'static [u8]>,
    B: ReadableTable<&'static [u8], &'static [u8]>,
{
    let high = height.to_be_bytes();
    let heights = blocks
        .range::<&[u8]>(..=high.as_slice())
        .map_err(|e| StorageError::from_redb(what, e))?;
    let mut key = Vec::with_capacity(9 + prefix.len());
    for item in heights.rev() {
        let (logged, _) = item.map_err(|e| StorageError::from_redb(what, e))?;
        log_key(&mut key, &decode_log_height(logged.value())?, kind, prefix);
        if let Some(value) = log
            .get(key.as_slice())
            .map_err(|e| StorageError::from_redb(what, e))?
        {
            return Ok(Some(value.value().to_vec()));
        }
    }
    Ok(None)
}

/// Moves every row of the version log into the key-ordered versions table of its kind (key
/// `prefix ++ height`, the same value) and empties the log, inside the caller's write
/// transaction. The rows are sorted first, so the inserts walk each table once in key order:
/// a key changed by many logged blocks gets all its versions on one leaf at once. Called when
/// the log reaches its length, and before anything that reads the key-ordered tables as the
/// whole history (the pending path, pruning); after it every versions table is exactly what
/// format version 3 kept.
fn fold_log(txn: &redb::WriteTransaction) -> Result<(), StorageError> {
    const WHAT: &str = "folding the version log";
    let mut storage_rows = Vec::new();
    let mut balance_rows = Vec::new();
    {
        let log = txn
            .open_table(VERSION_LOG)
            .map_err(|e| StorageError::from_redb(WHAT, e))?;
        for item in log.iter().map_err(|e| StorageError::from_redb(WHAT, e))? {
            let (key, value) = item.map_err(|e| StorageError::from_redb(WHAT, e))?;
            let key = key.value();
            if key.len() < 9 {
                return Err(StorageError::corrupt(format!(
                    "a version log key is {} bytes, too short for a height and a kind",
                    key.len()
                )));
            }
            let (height, rest) = key.split_at(8);
            let mut version = Vec::with_capacity(rest.len() - 1 + 8);
            version.extend_from_slice(&rest[1..]);
            version.extend_from_slice(height);
            let row = (version, value.value().to_vec());
            match rest[0] {
                KIND_STORAGE => storage_rows.push(row),
                KIND_BALANCE => balance_rows.push(row),
                other => {
                    return Err(StorageError::corrupt(format!(
                        "a version log row of unknown kind {other}"
                    )))
                }
            }
        }
    }
    for (mut rows, definition) in [
        (storage_rows, STORAGE_VERSIONS),
        (balance_rows, BALANCE_VERSIONS),
    ] {
        if rows.is_empty() {
            continue;
        }
        rows.sort_unstable();
        let mut table = txn
            .open_table(definition)
            .map_err(|e| StorageError::from_redb(WHAT, e))?;
        for (key, value) in rows {
            table
                .insert(key.as_slice(), value.as_slice())
                .map_err(|e| StorageError::from_redb(WHAT, e))?;
        }
    }
    // Dropping a table frees its pages without a removal per row.
    for definition in [VERSION_LOG, LOG_BLOCKS] {
        txn.delete_table(definition)
            .map_err(|e| StorageError::from_redb(WHAT, e))?;
        txn.open_table(definition)
            .map_err(|e| StorageError::from_redb(WHAT, e))?;
    }
    Ok(())
}

/// Whether the version log holds any block.
fn log_is_empty(txn: &redb::WriteTransaction) -> Result<bool, StorageError> {
    let blocks = txn
        .open_table(LOG_BLOCKS)
        .map_err(|e| StorageError::from_redb("opening the logged blocks table", e))?;
    blocks
        .is_empty()
        .map_err(|e| StorageError::from_redb("reading the logged blocks table", e))
}

impl DiskStorage {
    /// Whether `dir` holds a store ([`open`](Self::open) creates one where none is): tools that
    /// only read check this first, so a mistyped directory is reported instead of created.
    pub fn exists(dir: &Path) -> bool {
        dir.join(STATE_FILE).is_file()
    }

    /// Opens the state in directory `dir`, creating the directory and `dir/state.redb` if
    /// needed.
    ///
    /// Every open verifies the checksums of the whole file (redb's integrity check), so a file
    /// damaged outside redb is reported as [`StorageError::Corrupt`] instead of being trusted.
    /// This reads the whole file once: cheap for the state sizes tos-vm handles, linear in the
    /// file size. Errors:
    /// * [`StorageError::Io`]: the directory or file cannot be created or read;
    /// * [`StorageError::Foreign`]: the file is not a redb file, or a redb file of another
    ///   program;
    /// * [`StorageError::Corrupt`]: a redb file that fails its checks;
    /// * [`StorageError::UnsupportedVersion`]: a tos-vm state of another format version;
    /// * [`StorageError::AlreadyOpen`]: another handle holds the file.
    pub fn open(dir: &Path) -> Result<DiskStorage, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StorageError::io(format!("creating state directory {}", dir.display()), e)
        })?;
        let path = dir.join(STATE_FILE);
        check_signature(&path)?;

        // The integrity check makes redb verify every page checksum and report damage as
        // `Corrupted`; a plain open may panic on a damaged file. The catch_unwind is a second
        // line of defence for damage the check might miss: a panic becomes `Corrupt`.
        let created = std::panic::catch_unwind(|| {
            redb::Builder::new()
                .set_check_integrity_on_open(true)
                .set_cache_size(CACHE_BYTES)
                .create(&path)
        })
        .map_err(|panic| {
            StorageError::corrupt(format!(
                "redb panicked while opening {}: {}",
                path.display(),
                panic_message(&panic)
            ))
        })?;
        let db = created.map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                StorageError::AlreadyOpen { path: path.clone() }
            }
            // redb reads its header and region tables with read_exact: a short file
            // surfaces as an end-of-file I/O error.
            redb::DatabaseError::Storage(redb::StorageError::Io(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                StorageError::corrupt(format!("{} is truncated ({e})", path.display()))
            }
            other => StorageError::from_redb(&format!("opening {}", path.display()), other),
        })?;
        let storage = DiskStorage {
            db,
            path,
            snapshot: OnceLock::new(),
            log_blocks: DEFAULT_LOG_BLOCKS,
        };
        storage.initialize()?;
        Ok(storage)
    }

    /// The database file (`<dir>/state.redb`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh file gets its tables and meta rows; an existing one must be ours, of our version.
    fn initialize(&self) -> Result<(), StorageError> {
        let txn = self
            .db
            .begin_write()
            .map_err(|e| StorageError::from_redb("beginning the open transaction", e))?;
        let names: Vec<String> = txn
            .list_tables()
            .map_err(|e| StorageError::from_redb("listing tables", e))?
            .map(|handle| handle.name().to_string())
            .collect();
        let mut migrate = false;
        {
            if names.is_empty() {
                let mut meta = txn
                    .open_table(META)
                    .map_err(|e| StorageError::from_redb("creating the meta table", e))?;
                meta.insert(META_MAGIC, MAGIC)
                    .map_err(|e| StorageError::from_redb("writing the magic", e))?;
                meta.insert(META_VERSION, FORMAT_VERSION.to_le_bytes().as_slice())
                    .map_err(|e| StorageError::from_redb("writing the format version", e))?;
                // No block height yet: the first block may have any height, 0 included.
            } else {
                if !names.iter().any(|n| n == META.name()) {
                    return Err(StorageError::Foreign {
                        path: self.path.clone(),
                        reason: format!("a redb database without a meta table (tables: {names:?})"),
                    });
                }
                let meta = txn.open_table(META).map_err(|e| StorageError::Foreign {
                    path: self.path.clone(),
                    reason: format!("its meta table is not tos-vm's: {}", redb::Error::from(e)),
                })?;
                let magic = meta
                    .get(META_MAGIC)
                    .map_err(|e| StorageError::from_redb("reading the magic", e))?
                    .map(|g| g.value().to_vec());
                if magic.as_deref() != Some(MAGIC) {
                    return Err(StorageError::Foreign {
                        path: self.path.clone(),
                        reason: "its meta table has no tos-vm magic".to_string(),
                    });
                }
                let version = meta
                    .get(META_VERSION)
                    .map_err(|e| StorageError::from_redb("reading the format version", e))?
                    .ok_or_else(|| StorageError::corrupt("the format version is missing"))?;
                let bytes: [u8; 4] = version.value().try_into().map_err(|_| {
                    StorageError::corrupt(format!(
                        "the format version is {} bytes, expected 4",
                        version.value().len()
                    ))
                })?;
                let found = u32::from_le_bytes(bytes);
                if found == FORMAT_VERSION_3 {
                    migrate = true;
                } else if found != FORMAT_VERSION {
                    return Err(StorageError::UnsupportedVersion {
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
            }
            // Create the data tables if missing; a table of another type is reported as corrupt.
            for (table, what) in [
                (STORAGE, "storage"),
                (BALANCES, "balances"),
                (CODE, "code"),
                (STORAGE_VERSIONS, "storage versions"),
                (BALANCE_VERSIONS, "balance versions"),
                (CODE_VERSIONS, "code versions"),
                (CONTRACTS, "contracts"),
                (CONTRACT_VERSIONS, "contract versions"),
                (PENDING_KEYS, "pending keys"),
                (VERSION_LOG, "version log"),
                (LOG_BLOCKS, "logged blocks"),
            ] {
                txn.open_table(table).map_err(|e| {
                    StorageError::from_redb(&format!("opening the {what} table"), e)
                })?;
            }
            if migrate {
                // Version 3 → 4: the log tables were created just above (empty, which is
                // what a version 3 history is: all of it in the key-ordered tables); the
                // new version is written in the same transaction, so a crash leaves the
                // file either untouched version 3 or complete version 4.
                let mut meta = txn
                    .open_table(META)
                    .map_err(|e| StorageError::from_redb("opening the meta table", e))?;
                meta.insert(META_VERSION, FORMAT_VERSION.to_le_bytes().as_slice())
                    .map_err(|e| StorageError::from_redb("writing the format version", e))?;
            }
        }
        txn.commit()
            .map_err(|e| StorageError::from_redb("committing the open transaction", e))
    }

    /// Sets how many blocks the version log holds before a block folds it into the
    /// key-ordered versions tables ([`DEFAULT_LOG_BLOCKS`] unless set; 0 and 1 fold at every
    /// block, which writes what format version 3 wrote). Reads, pruning and the state are the
    /// same for every setting; a longer log makes a block write fewer pages and a historical
    /// read look in more logged blocks. Takes effect at the next block.
    pub fn set_log_blocks(&mut self, blocks: u64) {
        self.log_blocks = blocks;
    }

    /// Seals the pending block with `changes` added as the block at `height` and makes
    /// `height` the block height, in one write transaction (see
    /// [`VersionedStorage::commit_block`]). A sealed height never changes: `height <=
    /// block_height()` is [`StorageError::HeightSealed`] (except for the first block of a new
    /// state, which may have any height below `u64::MAX`).
    pub fn commit_block(&mut self, height: u64, changes: &ChangeSet) -> Result<(), StorageError> {
        self.apply(changes, Some(height))
    }

    /// The same as [`commit_block(height, changes)`](Self::commit_block).
    pub fn commit_with_height(
        &mut self,
        changes: &ChangeSet,
        height: u64,
    ) -> Result<(), StorageError> {
        self.apply(changes, Some(height))
    }

    /// Whether writes wait in the pending block (plain `commit`s since the last block) that
    /// the next [`commit_block`](Self::commit_block) seals.
    pub fn has_pending_changes(&self) -> Result<bool, StorageError> {
        let txn = self.begin_read()?;
        let table = txn
            .open_table(PENDING_KEYS)
            .map_err(|e| StorageError::from_redb("opening the pending table", e))?;
        Ok(!table
            .is_empty()
            .map_err(|e| StorageError::from_redb("reading the pending table", e))?)
    }

    /// Height of the last committed block; 0 before the first block.
    pub fn block_height(&self) -> Result<u64, StorageError> {
        Ok(self.heights()?.0.unwrap_or(0))
    }

    /// The oldest readable height: the last [`prune_below`](Self::prune_below) height, 0 if
    /// never pruned.
    pub fn oldest_height(&self) -> Result<u64, StorageError> {
        Ok(self.heights()?.1)
    }

    fn heights(&self) -> Result<(Option<u64>, u64), StorageError> {
        let txn = self.begin_read()?;
        let meta = txn
            .open_table(META)
            .map_err(|e| StorageError::from_redb("opening the meta table", e))?;
        read_heights(&meta)
    }

    /// Commits an empty block at `height` (same rules as [`commit_block`](Self::commit_block)).
    pub fn set_block_height(&mut self, height: u64) -> Result<(), StorageError> {
        self.apply(&ChangeSet::default(), Some(height))
    }

    /// A read-only view of the state as of `height` (a [`StorageProvider`]).
    pub fn at(&self, height: u64) -> Result<StateAt<'_>, StorageError> {
        StateAt::new(self, height)
    }

    /// Every live `(user key, value)` of `contract`, in key order (latest state).
    #[allow(clippy::type_complexity)]
    pub fn list_storage(&self, contract: &Hash) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        let txn = self.begin_read()?;
        let table = txn
            .open_table(STORAGE)
            .map_err(|e| StorageError::from_redb("opening the storage table", e))?;
        let prefix = contract.0;
        let range = table
            .range::<&[u8]>(prefix.as_slice()..)
            .map_err(|e| StorageError::from_redb("listing storage", e))?;
        let mut out = Vec::new();
        for item in range {
            let (key, value) = item.map_err(|e| StorageError::from_redb("listing storage", e))?;
            let key = key.value();
            if !key.starts_with(&prefix) {
                break;
            }
            out.push((key[prefix.len()..].to_vec(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// Opens a read transaction and checks that `height` is readable in it.
    fn begin_read_at(&self, height: u64) -> Result<redb::ReadTransaction, StorageError> {
        let txn = self.begin_read()?;
        {
            let meta = txn
                .open_table(META)
                .map_err(|e| StorageError::from_redb("opening the meta table", e))?;
            let (tip, oldest) = read_heights(&meta)?;
            check_readable(height, oldest, tip.unwrap_or(0))?;
        }
        Ok(txn)
    }

    /// The value of `key` in `contract`'s storage as of `height`.
    pub fn read_storage_at(
        &self,
        contract: &Hash,
        key: &[u8],
        height: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.begin_read_at(height)?;
        let prefix = storage_version_prefix(contract, key);
        match self.newest_version_at(&txn, STORAGE_VERSIONS, KIND_STORAGE, &prefix, height)? {
            Some(bytes) => decode_storage_version(&bytes),
            None => Ok(None),
        }
    }

    /// The newest version at or below `height` of the key whose versions start with `prefix`
    /// (storage or balances): the version log first, then the key-ordered table.
    fn newest_version_at(
        &self,
        txn: &redb::ReadTransaction,
        definition: TableDefinition<&'static [u8], &'static [u8]>,
        kind: u8,
        prefix: &[u8],
        height: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        const WHAT: &str = "reading a version";
        let open = |definition| {
            txn.open_table(definition)
                .map_err(|e| StorageError::from_redb(WHAT, e))
        };
        let logged = newest_logged_at(
            &open(VERSION_LOG)?,
            &open(LOG_BLOCKS)?,
            kind,
            prefix,
            height,
            WHAT,
        )?;
        match logged {
            Some(value) => Ok(Some(value)),
            None => newest_at(&open(definition)?, prefix, height, WHAT),
        }
    }

    /// The balance of `account` in `asset` as of `height`.
    pub fn read_balance_at(
        &self,
        account: &Hash,
        asset: &Hash,
        height: u64,
    ) -> Result<u64, StorageError> {
        let txn = self.begin_read_at(height)?;
        let prefix = balance_key(account, asset);
        match self.newest_version_at(&txn, BALANCE_VERSIONS, KIND_BALANCE, &prefix, height)? {
            Some(bytes) => decode_u64(&bytes, "a balance version"),
            None => Ok(0),
        }
    }

    /// The code deployed under `hash` as of `height`.
    pub fn read_code_at(&self, hash: &Hash, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.begin_read_at(height)?;
        let table = txn
            .open_table(CODE_VERSIONS)
            .map_err(|e| StorageError::from_redb("opening the code versions table", e))?;
        newest_at(&table, &hash.0, height, "reading a code version")
    }

    /// Whether code was deployed under `hash` as of `height`, without copying the ELF.
    pub fn has_code_at(&self, hash: &Hash, height: u64) -> Result<bool, StorageError> {
        let txn = self.begin_read_at(height)?;
        let table = txn
            .open_table(CODE_VERSIONS)
            .map_err(|e| StorageError::from_redb("opening the code versions table", e))?;
        let low = with_height(&hash.0, 0);
        let high = with_height(&hash.0, height);
        let mut range = table
            .range::<&[u8]>(low.as_slice()..=high.as_slice())
            .map_err(|e| StorageError::from_redb("reading a code version", e))?;
        // Code is never deleted: any version at or below `height` means deployed.
        Ok(range.next_back().is_some())
    }

    /// The contract instance at `address` as of `height`.
    pub fn read_contract_at(
        &self,
        address: &Hash,
        height: u64,
    ) -> Result<Option<ContractInfo>, StorageError> {
        let txn = self.begin_read_at(height)?;
        let table = txn
            .open_table(CONTRACT_VERSIONS)
            .map_err(|e| StorageError::from_redb("opening the contract versions table", e))?;
        newest_at(&table, &address.0, height, "reading a contract version")?
            .map(|bytes| decode_contract(&bytes))
            .transpose()
    }

    /// Every contract instance as `(address, info)`, in address order.
    pub fn list_contracts(&self) -> Result<Vec<(Hash, ContractInfo)>, StorageError> {
        let txn = self.begin_read()?;
        let table = txn
            .open_table(CONTRACTS)
            .map_err(|e| StorageError::from_redb("opening the contracts table", e))?;
        let iter = table
            .iter()
            .map_err(|e| StorageError::from_redb("listing contracts", e))?;
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|e| StorageError::from_redb("listing contracts", e))?;
            out.push((
                decode_hash(key.value(), "a contract address")?,
                decode_contract(value.value())?,
            ));
        }
        Ok(out)
    }

    /// Every live `(user key, value)` of `contract` as of `height`, in key order. Walks the
    /// contract's whole history (every version of every key): linear in it, so prune to keep it
    /// short.
    #[allow(clippy::type_complexity)]
    pub fn list_storage_at(
        &self,
        contract: &Hash,
        height: u64,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        let txn = self.begin_read_at(height)?;
        let table = txn
            .open_table(STORAGE_VERSIONS)
            .map_err(|e| StorageError::from_redb("opening the storage versions table", e))?;
        let prefix = contract.0;
        let range = table
            .range::<&[u8]>(prefix.as_slice()..)
            .map_err(|e| StorageError::from_redb("listing storage versions", e))?;
        let mut out = Vec::new();
        // The key being walked and its newest value at or below `height` so far.
        let mut current: Option<(Vec<u8>, Option<Vec<u8>>)> = None;
        for item in range {
            let (key, value) =
                item.map_err(|e| StorageError::from_redb("listing storage versions", e))?;
            let key = key.value();
            if !key.starts_with(&prefix) {
                break;
            }
            let (user_key, version) = decode_storage_version_key(key)?;
            let same = matches!(&current, Some((k, _)) if *k == user_key);
            if !same {
                if let Some((k, Some(v))) = current.take() {
                    out.push((k, v));
                }
                current = Some((user_key, None));
            }
            if version <= height {
                if let Some((_, best)) = current.as_mut() {
                    *best = decode_storage_version(value.value())?;
                }
            }
        }
        if let Some((k, Some(v))) = current {
            out.push((k, v));
        }
        self.overlay_logged_storage(&txn, contract, height, out)
    }

    /// `listed` (the contract's live keys as of `height` in the key-ordered table) with the
    /// logged blocks at or below `height` applied over it, oldest first.
    #[allow(clippy::type_complexity)]
    fn overlay_logged_storage(
        &self,
        txn: &redb::ReadTransaction,
        contract: &Hash,
        height: u64,
        listed: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        const WHAT: &str = "listing logged storage versions";
        let open = |definition| {
            txn.open_table(definition)
                .map_err(|e| StorageError::from_redb(WHAT, e))
        };
        let (log, blocks) = (open(VERSION_LOG)?, open(LOG_BLOCKS)?);
        let high = height.to_be_bytes();
        let heights = blocks
            .range::<&[u8]>(..=high.as_slice())
            .map_err(|e| StorageError::from_redb(WHAT, e))?;
        let mut merged: Option<std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>>> = None;
        let mut start = Vec::with_capacity(41);
        for item in heights {
            let (logged, _) = item.map_err(|e| StorageError::from_redb(WHAT, e))?;
            let logged = decode_log_height(logged.value())?;
            log_key(&mut start, &logged, KIND_STORAGE, &contract.0);
            let rows = log
                .range::<&[u8]>(start.as_slice()..)
                .map_err(|e| StorageError::from_redb(WHAT, e))?;
            for row in rows {
                let (key, value) = row.map_err(|e| StorageError::from_redb(WHAT, e))?;
                let key = key.value();
                if !key.starts_with(&start) {
                    break;
                }
                // The rest is contract ++ esc(user key); decode it as a version key.
                let mut version = key[9..].to_vec();
                version.extend_from_slice(&logged);
                let (user_key, _) = decode_storage_version_key(&version)?;
                let map = merged.get_or_insert_with(|| {
                    listed.iter().cloned().map(|(k, v)| (k, Some(v))).collect()
                });
                map.insert(user_key, decode_storage_version(value.value())?);
            }
        }
        Ok(match merged {
            None => listed,
            Some(map) => map
                .into_iter()
                .filter_map(|(key, value)| value.map(|value| (key, value)))
                .collect(),
        })
    }

    /// Removes every version no reader at a height `>= height` can see, in one write
    /// transaction (see [`VersionedStorage::prune_below`]): per key, the newest version at or
    /// below `height` stays (unless it is a deletion or a zero balance) and so does every
    /// version above. Then `oldest_height()` is `height`. `height > block_height()` is
    /// [`StorageError::HeightInFuture`]; `height <= oldest_height()` changes nothing.
    ///
    /// Scans every versions table once: linear in the number of versions.
    pub fn prune_below(&mut self, height: u64) -> Result<(), StorageError> {
        self.snapshot.take();
        let txn = self
            .db
            .begin_write()
            .map_err(|e| StorageError::from_redb("beginning a write transaction", e))?;
        // Pruning works on each key's whole history in the key-ordered tables. (A refused or
        // empty prune returns before the commit, which drops the fold with the transaction.)
        fold_log(&txn)?;
        {
            let mut meta = txn
                .open_table(META)
                .map_err(|e| StorageError::from_redb("opening the meta table", e))?;
            let (tip, oldest) = read_heights(&meta)?;
            let tip = tip.unwrap_or(0);
            if height > tip {
                return Err(StorageError::HeightInFuture { height, tip });
            }
            if height <= oldest {
                return Ok(());
            }
            type IsDeletion = fn(&[u8]) -> Result<bool, StorageError>;
            let tables: [(_, &str, IsDeletion); 4] = [
                (STORAGE_VERSIONS, "pruning storage versions", |v| {
                    Ok(decode_storage_version(v)?.is_none())
                }),
                (BALANCE_VERSIONS, "pruning balance versions", |v| {
                    Ok(decode_u64(v, "a balance version")? == 0)
                }),
                (CODE_VERSIONS, "pruning code versions", |_| Ok(false)),
                (CONTRACT_VERSIONS, "pruning contract versions", |_| {
                    Ok(false)
                }),
            ];
            for (definition, what, is_deletion) in tables {
                let mut table = txn
                    .open_table(definition)
                    .map_err(|e| StorageError::from_redb(what, e))?;
                let doomed = collect_pruned(&table, height, what, is_deletion)?;
                for key in doomed {
                    table
                        .remove(key.as_slice())
                        .map_err(|e| StorageError::from_redb(what, e))?;
                }
            }
            meta.insert(META_OLDEST, height.to_le_bytes().as_slice())
                .map_err(|e| StorageError::from_redb("writing the oldest height", e))?;
        }
        txn.commit()
            .map_err(|e| StorageError::from_redb("committing a prune", e))
    }

    /// Number of stored versions per kind: what [`prune_below`](Self::prune_below) shrinks.
    pub fn version_rows(&self) -> Result<VersionRows, StorageError> {
        let txn = self.begin_read()?;
        let mut counts = [0u64; 4];
        for (count, definition) in counts.iter_mut().zip([
            STORAGE_VERSIONS,
            BALANCE_VERSIONS,
            CODE_VERSIONS,
            CONTRACT_VERSIONS,
        ]) {
            let table = txn
                .open_table(definition)
                .map_err(|e| StorageError::from_redb("opening a versions table", e))?;
            *count = table
                .len()
                .map_err(|e| StorageError::from_redb("counting versions", e))?;
        }
        let log = txn
            .open_table(VERSION_LOG)
            .map_err(|e| StorageError::from_redb("opening the version log", e))?;
        for row in log
            .iter()
            .map_err(|e| StorageError::from_redb("counting logged versions", e))?
        {
            let (key, _) =
                row.map_err(|e| StorageError::from_redb("counting logged versions", e))?;
            match key.value().get(8) {
                Some(&KIND_STORAGE) => counts[0] += 1,
                Some(&KIND_BALANCE) => counts[1] += 1,
                _ => return Err(StorageError::corrupt("a version log row of unknown kind")),
            }
        }
        Ok(VersionRows {
            storage: counts[0],
            balances: counts[1],
            code: counts[2],
            contracts: counts[3],
        })
    }

    /// Every stored (non-zero) balance as `(account, asset, amount)`, ordered by account then
    /// asset.
    pub fn list_balances(&self) -> Result<Vec<(Hash, Hash, u64)>, StorageError> {
        let txn = self.begin_read()?;
        let table = txn
            .open_table(BALANCES)
            .map_err(|e| StorageError::from_redb("opening the balances table", e))?;
        let iter = table
            .iter()
            .map_err(|e| StorageError::from_redb("listing balances", e))?;
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|e| StorageError::from_redb("listing balances", e))?;
            let key = key.value();
            if key.len() != 64 {
                return Err(StorageError::corrupt(format!(
                    "a balance key is {} bytes, expected 64",
                    key.len()
                )));
            }
            let account = decode_hash(&key[..32], "an account")?;
            let asset = decode_hash(&key[32..], "an asset")?;
            out.push((account, asset, decode_u64(value.value(), "a balance")?));
        }
        Ok(out)
    }

    /// Every deployed code hash, in order.
    pub fn list_code(&self) -> Result<Vec<Hash>, StorageError> {
        let txn = self.begin_read()?;
        let table = txn
            .open_table(CODE)
            .map_err(|e| StorageError::from_redb("opening the code table", e))?;
        let iter = table
            .iter()
            .map_err(|e| StorageError::from_redb("listing code", e))?;
        let mut out = Vec::new();
        for item in iter {
            let (key, _) = item.map_err(|e| StorageError::from_redb("listing code", e))?;
            out.push(decode_hash(key.value(), "a code hash")?);
        }
        Ok(out)
    }

    /// The read snapshot of the latest state, opened on first use after a write.
    fn snapshot(&self) -> Result<&Snapshot, StorageError> {
        if let Some(snapshot) = self.snapshot.get() {
            return Ok(snapshot);
        }
        let fresh = Snapshot::open(&self.db)?;
        // Two threads may open one at once: both see the same committed state, one is kept.
        Ok(self.snapshot.get_or_init(|| fresh))
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction, StorageError> {
        self.db
            .begin_read()
            .map_err(|e| StorageError::from_redb("beginning a read transaction", e))
    }

    /// One write transaction for the whole change set: `changes` go into the pending block,
    /// and with `Some(height)` the pending block is then sealed as the block at that height
    /// (checked against the block height, which it then becomes). Any error drops the
    /// transaction before `commit`, which aborts it: nothing of `changes` is applied.
    ///
    /// Per key: the latest table gets the new value (or loses the row), and the pending
    /// version (at [`PENDING`]) is set — or removed, when the value is back to the newest
    /// sealed version — so pending versions are exactly the keys the pending block changes.
    /// A block over an empty pending block writes its versions at its height directly
    /// ([`VersionTarget::Sealed`]): the same rows, without the pending detour.
    fn apply(&mut self, changes: &ChangeSet, block: Option<u64>) -> Result<(), StorageError> {
        self.snapshot.take();
        let txn = self
            .db
            .begin_write()
            .map_err(|e| StorageError::from_redb("beginning a write transaction", e))?;
        let pending_is_empty = txn
            .open_table(PENDING_KEYS)
            .map_err(|e| StorageError::from_redb("opening the pending table", e))?
            .is_empty()
            .map_err(|e| StorageError::from_redb("reading the pending table", e))?;
        let target = match block {
            Some(height) if pending_is_empty => VersionTarget::Sealed(height),
            _ => VersionTarget::Pending,
        };
        // The pending path compares with (and seals above) each key's newest sealed version
        // in the key-ordered tables: the log goes there first. So a non-empty log always
        // means an empty pending block.
        if matches!(target, VersionTarget::Pending) && !log_is_empty(&txn)? {
            fold_log(&txn)?;
        }
        let logged_blocks = {
            let mut meta = txn
                .open_table(META)
                .map_err(|e| StorageError::from_redb("opening the meta table", e))?;
            let (tip, _) = read_heights(&meta)?;
            if let Some(height) = block {
                check_new_block(height, tip)?;
                meta.insert(META_HEIGHT, height.to_le_bytes().as_slice())
                    .map_err(|e| StorageError::from_redb("writing the block height", e))?;
            }
            let mut pending = txn
                .open_table(PENDING_KEYS)
                .map_err(|e| StorageError::from_redb("opening the pending table", e))?;
            let mut log = txn
                .open_table(VERSION_LOG)
                .map_err(|e| StorageError::from_redb("opening the version log", e))?;
            let mut log_blocks = txn
                .open_table(LOG_BLOCKS)
                .map_err(|e| StorageError::from_redb("opening the logged blocks table", e))?;
            // A storage or balance version of a block over an empty pending block is a row of
            // the log at the block's height; `logged_key` is its key, reused for every key.
            let mut logged_key = Vec::new();
            let mut wrote_log = false;
            let mut put_storage_or_balance =
                |versions: &mut redb::Table<&'static [u8], &'static [u8]>,
                 pending: &mut redb::Table<&'static [u8], &'static [u8]>,
                 kind: u8,
                 prefix: &[u8],
                 value: &[u8],
                 is_absent: fn(&[u8]) -> bool|
                 -> Result<(), StorageError> {
                    match target {
                        VersionTarget::Sealed(height) => {
                            log_key(&mut logged_key, &height.to_be_bytes(), kind, prefix);
                            log.insert(logged_key.as_slice(), value).map_err(|e| {
                                StorageError::from_redb("writing a logged version", e)
                            })?;
                            wrote_log = true;
                        }
                        VersionTarget::Pending => {
                            put_pending(versions, pending, kind, prefix, value, is_absent)?;
                        }
                    }
                    Ok(())
                };

            let mut storage = txn
                .open_table(STORAGE)
                .map_err(|e| StorageError::from_redb("opening the storage table", e))?;
            let mut storage_versions = txn
                .open_table(STORAGE_VERSIONS)
                .map_err(|e| StorageError::from_redb("opening the storage versions table", e))?;
            // Buffers reused for every key: the latest-state key, the version prefix (the
            // version key is built on it) and the encoded version.
            let mut full = Vec::new();
            let mut prefix = Vec::new();
            let mut encoded = Vec::new();
            for ((contract, key), value) in &changes.storage {
                full.clear();
                full.extend_from_slice(&contract.0);
                full.extend_from_slice(key);
                let changed = match value {
                    Some(value) => {
                        let old = storage
                            .insert(full.as_slice(), value.as_slice())
                            .map_err(|e| StorageError::from_redb("writing storage", e))?;
                        old.is_none_or(|old| old.value() != value.as_slice())
                    }
                    None => storage
                        .remove(full.as_slice())
                        .map_err(|e| StorageError::from_redb("deleting storage", e))?
                        .is_some(),
                };
                if changed {
                    prefix.clear();
                    prefix.extend_from_slice(&contract.0);
                    push_escaped(&mut prefix, key);
                    encoded.clear();
                    push_storage_version(&mut encoded, value.as_deref());
                    put_storage_or_balance(
                        &mut storage_versions,
                        &mut pending,
                        KIND_STORAGE,
                        &prefix,
                        &encoded,
                        |v| v == [TAG_DELETED],
                    )?;
                }
            }

            let mut balances = txn
                .open_table(BALANCES)
                .map_err(|e| StorageError::from_redb("opening the balances table", e))?;
            let mut balance_versions = txn
                .open_table(BALANCE_VERSIONS)
                .map_err(|e| StorageError::from_redb("opening the balance versions table", e))?;
            for ((account, asset), amount) in &changes.balances {
                let key = balance_key(account, asset);
                let old = if *amount == 0 {
                    balances
                        .remove(key.as_slice())
                        .map_err(|e| StorageError::from_redb("deleting a balance", e))?
                        .map(|old| decode_u64(old.value(), "a balance"))
                        .transpose()?
                } else {
                    balances
                        .insert(key.as_slice(), amount.to_le_bytes().as_slice())
                        .map_err(|e| StorageError::from_redb("writing a balance", e))?
                        .map(|old| decode_u64(old.value(), "a balance"))
                        .transpose()?
                };
                if old.unwrap_or(0) != *amount {
                    put_storage_or_balance(
                        &mut balance_versions,
                        &mut pending,
                        KIND_BALANCE,
                        &key,
                        &amount.to_le_bytes(),
                        |v| v == 0u64.to_le_bytes(),
                    )?;
                }
            }

            let mut code = txn
                .open_table(CODE)
                .map_err(|e| StorageError::from_redb("opening the code table", e))?;
            let mut code_versions = txn
                .open_table(CODE_VERSIONS)
                .map_err(|e| StorageError::from_redb("opening the code versions table", e))?;
            for (hash, elf) in &changes.code {
                let newest = code
                    .get(hash.0.as_slice())
                    .map_err(|e| StorageError::from_redb("reading a code pointer", e))?
                    .map(|pointer| decode_u64(pointer.value(), "a code pointer"))
                    .transpose()?;
                let unchanged = match newest {
                    Some(newest) => {
                        let version = with_height(&hash.0, newest);
                        let stored = code_versions
                            .get(version.as_slice())
                            .map_err(|e| StorageError::from_redb("reading code", e))?
                            .ok_or_else(|| {
                                StorageError::corrupt(format!(
                                    "the code pointer of {hash} names a missing version"
                                ))
                            })?;
                        stored.value() == elf.as_slice()
                    }
                    None => false,
                };
                if !unchanged {
                    let newest = put_version(
                        target,
                        &mut code_versions,
                        &mut pending,
                        KIND_CODE,
                        &mut hash.0.to_vec(),
                        elf,
                        |_| false,
                    )?
                    .ok_or_else(|| {
                        StorageError::corrupt(format!("code {hash} lost its versions"))
                    })?;
                    code.insert(hash.0.as_slice(), newest.to_le_bytes().as_slice())
                        .map_err(|e| StorageError::from_redb("writing a code pointer", e))?;
                }
            }

            let mut contracts = txn
                .open_table(CONTRACTS)
                .map_err(|e| StorageError::from_redb("opening the contracts table", e))?;
            let mut contract_versions = txn
                .open_table(CONTRACT_VERSIONS)
                .map_err(|e| StorageError::from_redb("opening the contract versions table", e))?;
            for (address, info) in &changes.contracts {
                let old = contracts
                    .insert(address.0.as_slice(), info.code_hash.0.as_slice())
                    .map_err(|e| StorageError::from_redb("writing a contract", e))?
                    .map(|old| decode_contract(old.value()))
                    .transpose()?;
                if old != Some(*info) {
                    let _ = put_version(
                        target,
                        &mut contract_versions,
                        &mut pending,
                        KIND_CONTRACT,
                        &mut address.0.to_vec(),
                        &info.code_hash.0,
                        |_| false,
                    )?;
                }
            }

            if let (Some(height), VersionTarget::Pending) = (block, target) {
                // Seal: every pending version moves to `height`.
                let keys: Vec<Vec<u8>> = {
                    let iter = pending
                        .iter()
                        .map_err(|e| StorageError::from_redb("listing pending keys", e))?;
                    let mut keys = Vec::new();
                    for item in iter {
                        let (key, _) =
                            item.map_err(|e| StorageError::from_redb("listing pending keys", e))?;
                        keys.push(key.value().to_vec());
                    }
                    keys
                };
                for key in keys {
                    let (kind, prefix) = key
                        .split_first()
                        .ok_or_else(|| StorageError::corrupt("an empty pending key"))?;
                    let table = match *kind {
                        KIND_STORAGE => &mut storage_versions,
                        KIND_BALANCE => &mut balance_versions,
                        KIND_CODE => &mut code_versions,
                        KIND_CONTRACT => &mut contract_versions,
                        other => {
                            return Err(StorageError::corrupt(format!(
                                "a pending key of unknown kind {other}"
                            )))
                        }
                    };
                    let value = table
                        .remove(with_height(prefix, PENDING).as_slice())
                        .map_err(|e| StorageError::from_redb("reading a pending version", e))?
                        .map(|value| value.value().to_vec())
                        .ok_or_else(|| {
                            StorageError::corrupt("a pending key without its pending version")
                        })?;
                    table
                        .insert(with_height(prefix, height).as_slice(), value.as_slice())
                        .map_err(|e| StorageError::from_redb("sealing a version", e))?;
                    if *kind == KIND_CODE {
                        code.insert(prefix, height.to_le_bytes().as_slice())
                            .map_err(|e| StorageError::from_redb("writing a code pointer", e))?;
                    }
                }
                pending
                    .retain(|_, _| false)
                    .map_err(|e| StorageError::from_redb("clearing the pending keys", e))?;
            }
            if let (true, Some(height)) = (wrote_log, block) {
                log_blocks
                    .insert(height.to_be_bytes().as_slice(), [].as_slice())
                    .map_err(|e| StorageError::from_redb("writing a logged block", e))?;
            }
            log_blocks
                .len()
                .map_err(|e| StorageError::from_redb("counting the logged blocks", e))?
        };
        if logged_blocks >= self.log_blocks.max(1) {
            fold_log(&txn)?;
        }
        txn.commit()
            .map_err(|e| StorageError::from_redb("committing a change set", e))
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Refuses, without handing it to redb, a non-empty file that does not start with redb's
/// signature (redb would initialize an empty file, and a missing one is created).
fn check_signature(path: &Path) -> Result<(), StorageError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StorageError::io(format!("opening {}", path.display()), e)),
    };
    let mut head = Vec::with_capacity(REDB_SIGNATURE.len());
    (&mut file)
        .take(REDB_SIGNATURE.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| StorageError::io(format!("reading {}", path.display()), e))?;
    if head.is_empty() || head == REDB_SIGNATURE {
        Ok(())
    } else {
        Err(StorageError::Foreign {
            path: path.to_path_buf(),
            reason: "not a redb database (no redb signature at the start of the file)".to_string(),
        })
    }
}

impl StorageProvider for DiskStorage {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let storage = &self.snapshot()?.storage;
        let value = with_storage_key(contract, key, |full| storage.get(full))
            .map_err(|e| StorageError::from_redb("reading storage", e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Copies the value from redb's page straight into `out`: no vector per read.
    fn read_storage_into(
        &self,
        contract: &Hash,
        key: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, StorageError> {
        let storage = &self.snapshot()?.storage;
        let value = with_storage_key(contract, key, |full| storage.get(full))
            .map_err(|e| StorageError::from_redb("reading storage", e))?;
        Ok(value.map(|v| {
            out.extend_from_slice(v.value());
            v.value().len()
        }))
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        let key = balance_key(account, asset);
        match self
            .snapshot()?
            .balances
            .get(key.as_slice())
            .map_err(|e| StorageError::from_redb("reading a balance", e))?
        {
            Some(value) => decode_u64(value.value(), "a balance"),
            None => Ok(0),
        }
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        let value = self
            .snapshot()?
            .contracts
            .get(address.0.as_slice())
            .map_err(|e| StorageError::from_redb("reading a contract", e))?;
        value.map(|v| decode_contract(v.value())).transpose()
    }

    fn has_code(&self, contract: &Hash) -> Result<bool, StorageError> {
        // The code table holds a small pointer per deployed contract: no ELF copy.
        Ok(newest_code_height(&self.snapshot()?.code, contract)?.is_some())
    }

    fn read_code(&self, contract: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        let snapshot = self.snapshot()?;
        let Some(newest) = newest_code_height(&snapshot.code, contract)? else {
            return Ok(None);
        };
        let version = with_height(&contract.0, newest);
        match snapshot
            .code_versions
            .get(version.as_slice())
            .map_err(|e| StorageError::from_redb("reading code", e))?
        {
            Some(elf) => Ok(Some(elf.value().to_vec())),
            None => Err(StorageError::corrupt(format!(
                "the code pointer of {contract} names a missing version"
            ))),
        }
    }

    /// Adds `changes` to the pending block (never to a sealed height), in one durable write
    /// transaction; the block height is left as it is.
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError> {
        self.apply(changes, None)
    }
}

impl VersionedStorage for DiskStorage {
    fn block_height(&self) -> Result<u64, StorageError> {
        DiskStorage::block_height(self)
    }

    fn oldest_height(&self) -> Result<u64, StorageError> {
        DiskStorage::oldest_height(self)
    }

    fn has_pending_changes(&self) -> Result<bool, StorageError> {
        DiskStorage::has_pending_changes(self)
    }

    fn commit_block(&mut self, height: u64, changes: &ChangeSet) -> Result<(), StorageError> {
        DiskStorage::commit_block(self, height, changes)
    }

    fn prune_below(&mut self, height: u64) -> Result<(), StorageError> {
        DiskStorage::prune_below(self, height)
    }

    fn read_storage_at(
        &self,
        contract: &Hash,
        key: &[u8],
        height: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        DiskStorage::read_storage_at(self, contract, key, height)
    }

    fn read_balance_at(
        &self,
        account: &Hash,
        asset: &Hash,
        height: u64,
    ) -> Result<u64, StorageError> {
        DiskStorage::read_balance_at(self, account, asset, height)
    }

    fn read_code_at(&self, hash: &Hash, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        DiskStorage::read_code_at(self, hash, height)
    }

    fn has_code_at(&self, hash: &Hash, height: u64) -> Result<bool, StorageError> {
        DiskStorage::has_code_at(self, hash, height)
    }

    fn read_contract_at(
        &self,
        address: &Hash,
        height: u64,
    ) -> Result<Option<ContractInfo>, StorageError> {
        DiskStorage::read_contract_at(self, address, height)
    }

    fn list_storage_at(
        &self,
        contract: &Hash,
        height: u64,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        DiskStorage::list_storage_at(self, contract, height)
    }
}

/// The height of the newest version of `contract`'s code, from the code pointer table; `None`
/// when no such contract is deployed.
fn newest_code_height(pointers: &RawTable, contract: &Hash) -> Result<Option<u64>, StorageError> {
    let pointer = pointers
        .get(contract.0.as_slice())
        .map_err(|e| StorageError::from_redb("reading a code pointer", e))?;
    pointer
        .map(|p| decode_u64(p.value(), "a code pointer"))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_contract_then_user_key() {
        let c = Hash([7; 32]);
        let k = storage_key(&c, b"abc");
        assert_eq!(&k[..32], &[7; 32]);
        assert_eq!(&k[32..], b"abc");
        let b = balance_key(&Hash([1; 32]), &Hash([2; 32]));
        assert_eq!(&b[..32], &[1; 32]);
        assert_eq!(&b[32..], &[2; 32]);
    }

    #[test]
    fn version_keys_round_trip_and_keep_key_order() {
        let c = Hash([7; 32]);
        let keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![0, 1],
            vec![0, 0xFF],
            vec![1],
            vec![1, 0],
            vec![0xFF],
            vec![0xFF, 0, 0xFF],
            b"abc".to_vec(),
        ];
        for key in &keys {
            for height in [0, 1, 255, 256, u64::MAX] {
                let full = with_height(&storage_version_prefix(&c, key), height);
                assert_eq!(&full[..32], &c.0);
                assert_eq!(
                    decode_storage_version_key(&full).unwrap(),
                    (key.clone(), height)
                );
            }
        }
        // Order of (key, height) pairs is the order of their encodings, and the versions of a
        // key are contiguous whatever the other keys and heights.
        let mut pairs: Vec<(Vec<u8>, u64)> = Vec::new();
        for key in &keys {
            for height in [0, 1, 0x0100, u64::MAX - 1, u64::MAX] {
                pairs.push((key.clone(), height));
            }
        }
        let mut by_encoding = pairs.clone();
        by_encoding.sort_by_key(|(k, h)| with_height(&storage_version_prefix(&c, k), *h));
        pairs.sort();
        assert_eq!(by_encoding, pairs);
    }

    #[test]
    fn malformed_version_rows_are_corrupt() {
        let c = [7u8; 32];
        for bad in [
            &c[..31],                                    // shorter than a hash
            &[c.as_slice(), b"abc"].concat()[..],        // no terminator
            &[c.as_slice(), &[1, 0, 2]].concat()[..],    // bad escape
            &[c.as_slice(), &[0, 1, 1, 2]].concat()[..], // height not 8 bytes
        ] {
            assert!(matches!(
                decode_storage_version_key(bad),
                Err(StorageError::Corrupt { .. })
            ));
        }
        assert_eq!(decode_storage_version(&[TAG_DELETED]).unwrap(), None);
        assert_eq!(
            decode_storage_version(&[TAG_VALUE, 9]).unwrap(),
            Some(vec![9])
        );
        assert_eq!(decode_storage_version(&[TAG_VALUE]).unwrap(), Some(vec![]));
        for bad in [&[][..], &[TAG_DELETED, 1][..], &[2, 1][..]] {
            assert!(matches!(
                decode_storage_version(bad),
                Err(StorageError::Corrupt { .. })
            ));
        }
        assert!(matches!(
            split_height(&[1, 2, 3], "x"),
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[test]
    fn decoders_refuse_wrong_lengths() {
        assert_eq!(decode_u64(&5u64.to_le_bytes(), "x").unwrap(), 5);
        assert!(matches!(
            decode_u64(&[1, 2], "x"),
            Err(StorageError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_hash(&[0; 31], "x"),
            Err(StorageError::Corrupt { .. })
        ));
        assert_eq!(decode_hash(&[3; 32], "x").unwrap(), Hash([3; 32]));
    }

    #[test]
    fn signature_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(check_signature(&path).is_ok()); // missing: will be created
        std::fs::write(&path, b"").unwrap();
        assert!(check_signature(&path).is_ok()); // empty: redb initializes it
        std::fs::write(&path, REDB_SIGNATURE).unwrap();
        assert!(check_signature(&path).is_ok());
        std::fs::write(&path, b"SQLite format 3\0").unwrap();
        assert!(matches!(
            check_signature(&path),
            Err(StorageError::Foreign { .. })
        ));
        std::fs::write(&path, &REDB_SIGNATURE[..4]).unwrap();
        assert!(matches!(
            check_signature(&path),
            Err(StorageError::Foreign { .. })
        ));
    }

    /// Every row of every table, by table.
    fn rows(disk: &DiskStorage) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        let txn = disk.begin_read().unwrap();
        let mut out = Vec::new();
        for definition in [
            STORAGE,
            BALANCES,
            CODE,
            STORAGE_VERSIONS,
            BALANCE_VERSIONS,
            CODE_VERSIONS,
            CONTRACTS,
            CONTRACT_VERSIONS,
            PENDING_KEYS,
            VERSION_LOG,
            LOG_BLOCKS,
        ] {
            let table = txn.open_table(definition).unwrap();
            out.push(
                table
                    .iter()
                    .unwrap()
                    .map(|row| {
                        let (key, value) = row.unwrap();
                        (key.value().to_vec(), value.value().to_vec())
                    })
                    .collect(),
            );
        }
        let meta = txn.open_table(META).unwrap();
        out.push(
            meta.iter()
                .unwrap()
                .map(|row| {
                    let (key, value) = row.unwrap();
                    (key.value().as_bytes().to_vec(), value.value().to_vec())
                })
                .collect(),
        );
        out
    }

    /// A block committed over an empty pending block writes its versions at its height
    /// directly (`VersionTarget::Sealed`); the rows must be exactly those of the pending path
    /// (the changes committed into the pending block, then sealed by an empty block): sets,
    /// overwrites, deletions, values set back to an older version, zero balances, code
    /// redeployed unchanged and changed, contract instances. With the version log folded at
    /// every block (`set_log_blocks(1)`), the direct path's log rows, once folded, must be those
    /// rows too: the fold writes format version 3's layout.
    #[test]
    fn direct_block_versions_are_the_rows_of_the_pending_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut direct = DiskStorage::open(&dir.path().join("direct")).unwrap();
        direct.set_log_blocks(1);
        let mut detour = DiskStorage::open(&dir.path().join("detour")).unwrap();
        let mut next = random_blocks();
        for height in 1..=40u64 {
            let changes = next();
            direct.commit_block(height, &changes).unwrap();
            detour.commit(&changes).unwrap();
            detour.commit_block(height, &ChangeSet::default()).unwrap();
            assert_eq!(rows(&direct), rows(&detour), "after block {height}");
        }
        assert!(direct.version_rows().unwrap().total() > 40);
    }

    /// A generator of random change sets over two contracts, keys with zero bytes, balances,
    /// code and instances.
    fn random_blocks() -> impl FnMut() -> ChangeSet {
        let contracts = [Hash([1; 32]), Hash([2; 32])];
        let keys: [&[u8]; 4] = [b"", b"a", b"a\0b", b"\0"];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        move || {
            let mut changes = ChangeSet::default();
            for _ in 0..next(6) {
                let contract = contracts[next(2) as usize];
                let key = keys[next(4) as usize].to_vec();
                let value = match next(4) {
                    0 => None,
                    n => Some(vec![n as u8; n as usize]),
                };
                changes.set_storage(contract, key, value);
            }
            for _ in 0..next(3) {
                changes.set_balance(contracts[next(2) as usize], Hash([0; 32]), next(3));
            }
            if next(5) == 0 {
                changes.deploy_code(contracts[next(2) as usize], vec![0x7f, next(2) as u8]);
            }
            if next(7) == 0 {
                changes.create_contract(Hash([next(3) as u8 + 8; 32]), contracts[next(2) as usize]);
            }
            changes
        }
    }

    /// Every historical read, at every height, of the keys [`random_blocks`] writes.
    #[allow(clippy::type_complexity)]
    fn history(
        disk: &DiskStorage,
    ) -> Vec<(Vec<Option<Vec<u8>>>, Vec<u64>, Vec<Vec<(Vec<u8>, Vec<u8>)>>)> {
        let contracts = [Hash([1; 32]), Hash([2; 32])];
        let keys: [&[u8]; 4] = [b"", b"a", b"a\0b", b"\0"];
        let oldest = disk.oldest_height().unwrap();
        (oldest..=disk.block_height().unwrap())
            .map(|height| {
                let mut values = Vec::new();
                let mut balances = Vec::new();
                let mut lists = Vec::new();
                for contract in &contracts {
                    for key in keys {
                        values.push(disk.read_storage_at(contract, key, height).unwrap());
                    }
                    balances.push(
                        disk.read_balance_at(contract, &Hash([0; 32]), height)
                            .unwrap(),
                    );
                    lists.push(disk.list_storage_at(contract, height).unwrap());
                }
                (values, balances, lists)
            })
            .collect()
    }

    /// The version log changes where versions are kept, never what a read returns: a store
    /// that keeps up to 4 blocks in its log reads like one that folds at every block, at every
    /// height, after every block (plain commits and prunes, which fold, in between); once
    /// both are folded (by a prune) their rows are identical.
    #[test]
    fn logged_versions_read_like_folded_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut logged = DiskStorage::open(&dir.path().join("logged")).unwrap();
        logged.set_log_blocks(4);
        let mut folded = DiskStorage::open(&dir.path().join("folded")).unwrap();
        folded.set_log_blocks(1);
        let mut next = random_blocks();
        let mut saw_log = false;
        for height in 1..=60u64 {
            let changes = next();
            if height % 17 == 0 {
                // A plain commit into the pending block: folds the log first.
                logged.commit(&changes).unwrap();
                folded.commit(&changes).unwrap();
                continue;
            }
            logged.commit_block(height, &changes).unwrap();
            folded.commit_block(height, &changes).unwrap();
            if height % 23 == 0 {
                logged.prune_below(height - 5).unwrap();
                folded.prune_below(height - 5).unwrap();
            }
            saw_log |= !rows(&logged)[9].is_empty();
            assert_eq!(history(&logged), history(&folded), "after block {height}");
            assert_eq!(
                logged.version_rows().unwrap(),
                folded.version_rows().unwrap(),
                "after block {height}"
            );
        }
        assert!(saw_log, "the logged store never kept a version in its log");
        logged.prune_below(60).unwrap();
        folded.prune_below(60).unwrap();
        assert_eq!(rows(&logged), rows(&folded));
    }

    /// Reads go through a snapshot kept between writes: each kind of write must drop it.
    #[test]
    fn reads_see_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        let c = Hash([3; 32]);
        let read = |disk: &DiskStorage| {
            let mut out = Vec::new();
            (
                disk.read_storage(&c, b"k").unwrap(),
                disk.read_storage_into(&c, b"k", &mut out)
                    .unwrap()
                    .map(|_| out),
                disk.read_balance(&c, &c).unwrap(),
                disk.read_contract(&c).unwrap(),
                disk.has_code(&c).unwrap(),
                disk.read_code(&c).unwrap(),
            )
        };
        assert_eq!(read(&disk), (None, None, 0, None, false, None));
        let mut changes = ChangeSet::default();
        changes.set_storage(c, b"k".to_vec(), Some(b"v1".to_vec()));
        changes.set_balance(c, c, 5);
        changes.deploy_code(c, b"elf".to_vec());
        changes.create_contract(c, c);
        disk.commit(&changes).unwrap();
        let info = Some(ContractInfo { code_hash: c });
        let v1 = Some(b"v1".to_vec());
        let elf = Some(b"elf".to_vec());
        assert_eq!(read(&disk), (v1.clone(), v1, 5, info, true, elf.clone()));
        let mut changes = ChangeSet::default();
        changes.set_storage(c, b"k".to_vec(), Some(b"v2".to_vec()));
        changes.set_balance(c, c, 0);
        disk.commit_block(1, &changes).unwrap();
        let v2 = Some(b"v2".to_vec());
        assert_eq!(read(&disk), (v2.clone(), v2, 0, info, true, elf.clone()));
        let mut changes = ChangeSet::default();
        changes.set_storage(c, b"k".to_vec(), None);
        disk.commit_block(2, &changes).unwrap();
        assert_eq!(read(&disk), (None, None, 0, info, true, elf));
        disk.prune_below(2).unwrap();
        assert_eq!(disk.read_storage_at(&c, b"k", 2).unwrap(), None);
        assert_eq!(disk.read_storage(&c, b"k").unwrap(), None);
        // A failed write (a sealed height) leaves the reads as they were.
        assert!(disk.commit_block(1, &ChangeSet::default()).is_err());
        assert_eq!(disk.read_balance(&c, &c).unwrap(), 0);
    }

    #[test]
    fn debug_shows_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskStorage::open(dir.path()).unwrap();
        assert!(format!("{disk:?}").contains("state.redb"));
    }
}
