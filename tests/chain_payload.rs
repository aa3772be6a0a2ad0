//! Deploys through `DeployContractPayload`: the example contracts go in; oversized, malformed,
//! unknown-syscall and badly encoded payloads are refused with a typed error and nothing is
//! stored (nor cached).

mod chain_common;

use chain_common::*;
use tos_test_harness::probe::Script;
use tos_vm::{
    loader::LoaderError, runtime::solana_sbpf::ebpf::hash_symbol_name, BlockContext, ContractCall,
    DeployContractPayload, DeployError, DiskStorage, Engine, Hash, InvokeContractPayload,
    InvokePayloadError, InvokeStatus, MemoryStorage, StateListing, StorageProvider,
    TransactionContext, Vm, VmConfig, VmError, MAX_CODE_LEN, MAX_PAYLOAD_LEN,
};

const DEPLOYER: Hash = Hash([0xD0; 32]);

fn tx() -> TransactionContext {
    TransactionContext {
        hash: Hash([0x7A; 32]),
        sender: DEPLOYER,
    }
}

fn block() -> BlockContext {
    BlockContext {
        height: 7,
        hash: Hash([0xB7; 32]),
        timestamp: 1_700_000_000,
    }
}

fn vm(engine: Engine) -> Vm {
    Vm::new(VmConfig {
        engine,
        ..VmConfig::default()
    })
}

/// `elf` with its first `call tos_log` turned into a call of a syscall nobody offers.
fn with_unknown_syscall(elf: &[u8]) -> Vec<u8> {
    let known = hash_symbol_name(b"tos_log").to_le_bytes();
    let unknown = hash_symbol_name(b"tos_not_a_syscall").to_le_bytes();
    let mut pattern = vec![0x85, 0x00, 0x00, 0x00];
    pattern.extend_from_slice(&known);
    let at = elf
        .windows(8)
        .position(|w| w == pattern.as_slice())
        .expect("hello-world calls tos_log");
    let mut patched = elf.to_vec();
    patched[at + 4..at + 8].copy_from_slice(&unknown);
    patched
}

/// The address a deploy by `deployer` in the transaction `tx_hash` gets (the local rule).
fn address(deployer: Hash, tx_hash: Hash) -> Hash {
    tos_vm::deploy_address(&deployer, &tx_hash)
}

#[test]
fn the_examples_deploy_through_payloads_and_run() {
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = vm(engine);
        let mut store = MemoryStorage::default();
        let universe = Universe::new(1);
        let mut counter = Hash::default();
        for (i, elf) in [&universe.hello, &universe.counter, &universe.probes[0]]
            .into_iter()
            .enumerate()
        {
            // Through the wire format, as the chain receives it.
            let bytes = DeployContractPayload::new(elf.clone()).to_bytes();
            let payload = DeployContractPayload::from_bytes(&bytes).unwrap();
            let misses = vm.cache_stats().misses;
            let at = address(DEPLOYER, Hash([i as u8; 32]));
            let outcome = vm
                .deploy_contract(&payload, at, &tx(), &block(), &mut store)
                .unwrap();
            assert_eq!(outcome.contract, at);
            assert_eq!(outcome.code_hash, tos_vm::code_hash(elf));
            assert!(!outcome.code_reused);
            assert!(outcome.constructor.is_none());
            assert_eq!(
                store.read_contract(&at).unwrap().map(|info| info.code_hash),
                Some(outcome.code_hash)
            );
            assert_eq!(
                store.read_code(&outcome.code_hash).unwrap().as_deref(),
                Some(elf.as_slice())
            );
            // Deploying verified and compiled it into the cache: the first call is a hit.
            assert!(vm.cache().contains(&outcome.code_hash, engine));
            assert_eq!(vm.cache_stats().misses, misses + 1);
            vm.invoke(&ContractCall::new(at, Vec::new()), &block(), &mut store)
                .unwrap();
            assert_eq!(vm.cache_stats().misses, misses + 1);
            if i == 1 {
                counter = at;
            }
        }
        assert_eq!(
            store.read_storage(&counter, b"count").unwrap(),
            Some(1u64.to_le_bytes().to_vec())
        );

        // The same code again, at another address: a second, independent contract sharing
        // the stored code and the cached executable.
        let second = address(DEPLOYER, Hash([0x22; 32]));
        let misses = vm.cache_stats().misses;
        let again = vm
            .deploy_contract(
                &DeployContractPayload::new(universe.counter.clone()),
                second,
                &tx(),
                &block(),
                &mut store,
            )
            .unwrap();
        assert!(again.code_reused);
        assert_eq!(again.changes.len(), 1, "only the instance is new");
        assert_eq!(store.read_storage(&second, b"count").unwrap(), None);
        vm.invoke(&ContractCall::new(second, Vec::new()), &block(), &mut store)
            .unwrap();
        assert_eq!(vm.cache_stats().misses, misses, "one executable for both");
        assert_eq!(
            store.read_storage(&second, b"count").unwrap(),
            Some(1u64.to_le_bytes().to_vec())
        );
        assert_eq!(
            store.read_storage(&counter, b"count").unwrap(),
            Some(1u64.to_le_bytes().to_vec())
        );

        // A taken address is refused, whatever the code: nothing changes.
        let before = store.clone();
        let taken = vm
            .deploy_contract(
                &DeployContractPayload::new(universe.hello.clone()),
                counter,
                &tx(),
                &block(),
                &mut store,
            )
            .unwrap_err();
        assert!(
            matches!(taken, VmError::Deploy { error: DeployError::AddressTaken(a), .. } if a == counter)
        );
        assert!(matches!(
            vm.deploy(&universe.hello, counter, &mut store)
                .map(|deployed| deployed.contract),
            Err(VmError::Deploy {
                error: DeployError::AddressTaken(_),
                ..
            })
        ));
        assert_eq!(store, before);
    }
}

#[test]
fn a_constructor_runs_once_at_deploy_and_a_failing_one_deploys_nothing() {
    let vm = vm(Engine::Jit);
    let elf = probe_variant_elf(11);
    let contract = address(DEPLOYER, tx().hash);

    // A constructor that fails (status 5) after writing: nothing is stored.
    let mut store = MemoryStorage::default();
    let failing = DeployContractPayload::with_constructor(
        elf.clone(),
        Script::new().storage_write(b"owner", &DEPLOYER.0).build(5),
    );
    let error = vm
        .deploy_contract(&failing, contract, &tx(), &block(), &mut store)
        .unwrap_err();
    match error {
        VmError::Deploy {
            error: DeployError::ConstructorFailed(outcome),
            ..
        } => {
            assert!(matches!(outcome.status, InvokeStatus::Failed { code: 5 }));
            assert!(outcome.compute_used > 0);
            assert!(outcome.changes.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store, MemoryStorage::default());

    // Someone who saw the deploy deploys the same code first with their own constructor: they
    // get their own contract, and the original deploy still gets its address.
    let thief = Hash([0x66; 32]);
    let stolen = DeployContractPayload::with_constructor(
        elf.clone(),
        Script::new().storage_write(b"owner", &thief.0).build(0),
    );
    let thief_tx = TransactionContext {
        hash: Hash([0x67; 32]),
        sender: thief,
    };
    let theirs = vm
        .deploy_contract(
            &stolen,
            address(thief, thief_tx.hash),
            &thief_tx,
            &block(),
            &mut store,
        )
        .unwrap();
    assert_ne!(theirs.contract, contract);

    // A constructor that succeeds: the instance and its writes land together (the code is
    // already stored by the other instance).
    let payload = DeployContractPayload::with_constructor(
        elf.clone(),
        Script::new().storage_write(b"owner", &DEPLOYER.0).build(0),
    );
    let outcome = vm
        .deploy_contract(&payload, contract, &tx(), &block(), &mut store)
        .unwrap();
    assert_eq!(outcome.contract, contract);
    assert!(outcome.code_reused);
    assert!(outcome.constructor.as_ref().unwrap().status.is_success());
    assert!(outcome.compute_used() > 0);
    assert_eq!(outcome.changes.len(), 2, "the instance and one storage key");
    assert_eq!(
        store.read_storage(&contract, b"owner").unwrap(),
        Some(DEPLOYER.0.to_vec())
    );
    assert_eq!(
        store.read_storage(&theirs.contract, b"owner").unwrap(),
        Some(thief.0.to_vec())
    );

    // Its constructor cannot run again: the address is taken.
    let before = store.clone();
    let again = vm
        .deploy_contract(&payload, contract, &tx(), &block(), &mut store)
        .unwrap_err();
    assert!(
        matches!(again, VmError::Deploy { error: DeployError::AddressTaken(h), .. } if h == contract)
    );
    assert_eq!(store, before);
}

/// A bad payload: what is wrong, its bytes, the typed error expected.
type Refusal = (&'static str, Vec<u8>, fn(&VmError) -> bool);

/// Every way a payload is refused, each with its typed error.
fn refusals(hello: &[u8]) -> Vec<Refusal> {
    let valid = DeployContractPayload::new(hello.to_vec()).to_bytes();
    let encode = |code: Vec<u8>| DeployContractPayload::new(code).to_bytes();
    let mut bad_tag = valid.clone();
    bad_tag.push(2); // replaces nothing: strip the `None` tag first
    bad_tag.remove(valid.len() - 1);
    let mut huge_length = vec![0xFF, 0xFF, 0xFF, 0x7F];
    huge_length.extend_from_slice(&hello[..64]);
    let mut header_machine = hello.to_vec();
    header_machine[18] = 0x3E; // EM_X86_64
    vec![
        ("oversized code", encode(vec![0; MAX_CODE_LEN + 1]), |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::CodeTooLarge { .. },
                    ..
                }
            )
        }),
        ("oversized payload", vec![0; MAX_PAYLOAD_LEN + 1], |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::PayloadTooLarge { .. },
                    ..
                }
            )
        }),
        (
            "oversized constructor input",
            DeployContractPayload::with_constructor(hello.to_vec(), vec![0; 64 * 1024 + 1])
                .to_bytes(),
            |e| {
                matches!(
                    e,
                    VmError::Deploy {
                        error: DeployError::ConstructorInputTooLarge { .. },
                        ..
                    }
                )
            },
        ),
        (
            "not an ELF",
            encode(b"definitely not an ELF file".to_vec()),
            |e| {
                matches!(
                    e,
                    VmError::Deploy {
                        error: DeployError::InvalidElf(LoaderError::InvalidExecutable { .. }),
                        ..
                    }
                )
            },
        ),
        (
            "ELF cut in its program headers",
            encode(hello[..100].to_vec()),
            |e| {
                matches!(
                    e,
                    VmError::Deploy {
                        error: DeployError::InvalidElf(_),
                        ..
                    }
                )
            },
        ),
        (
            "ELF cut inside its loaded segments",
            encode(hello[..hello.len() / 4].to_vec()),
            |e| {
                matches!(
                    e,
                    VmError::Deploy {
                        error: DeployError::InvalidElf(_),
                        ..
                    }
                )
            },
        ),
        ("ELF for another machine", encode(header_machine), |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::InvalidElf(_),
                    ..
                }
            )
        }),
        ("empty code", encode(Vec::new()), |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::InvalidElf(_),
                    ..
                }
            )
        }),
        (
            "unknown syscall",
            encode(with_unknown_syscall(hello)),
            |e| {
                matches!(
                    e,
                    VmError::Deploy {
                        error: DeployError::UnknownSyscall(LoaderError::UnknownSyscallHash { .. }),
                        ..
                    }
                )
            },
        ),
        ("empty bytes", Vec::new(), |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::Decode { .. },
                    ..
                }
            )
        }),
        ("truncated borsh", valid[..valid.len() - 10].to_vec(), |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::Decode { .. },
                    ..
                }
            )
        }),
        ("trailing bytes", [valid.as_slice(), &[0]].concat(), |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::Decode { .. },
                    ..
                }
            )
        }),
        ("bad option tag", bad_tag, |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::Decode { .. },
                    ..
                }
            )
        }),
        ("length prefix past the end", huge_length, |e| {
            matches!(
                e,
                VmError::Deploy {
                    error: DeployError::Decode { .. },
                    ..
                }
            )
        }),
    ]
}

/// What the chain does with a deploy transaction's bytes.
fn deploy_bytes(vm: &Vm, bytes: &[u8], store: &mut dyn StorageProvider) -> Result<Hash, VmError> {
    // A payload that does not decode was refused before any code was examined.
    let payload = DeployContractPayload::from_bytes(bytes)
        .map_err(|refused| refused.charged(tos_vm::DEPLOY_BASE_COST))?;
    Ok(vm
        .deploy_contract(
            &payload,
            address(DEPLOYER, tx().hash),
            &tx(),
            &block(),
            store,
        )?
        .contract)
}

#[test]
fn bad_payloads_are_refused_with_a_typed_error_and_nothing_is_stored() {
    let hello = tos_test_harness::fixtures::example_elf("hello-world");
    assert!(deploy_bytes(
        &vm(Engine::Jit),
        &DeployContractPayload::new(hello.clone()).to_bytes(),
        &mut MemoryStorage::default()
    )
    .is_ok());
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = vm(engine);
        let dir = tempfile::tempdir().unwrap();
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        let mut memory = MemoryStorage::default();
        for (what, bytes, expected) in refusals(&hello) {
            let refused = deploy_bytes(&vm, &bytes, &mut memory)
                .err()
                .unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(expected(&refused), "{what}: {refused:?}");
            let refused = deploy_bytes(&vm, &bytes, &mut disk).unwrap_err();
            assert!(expected(&refused), "{what}: {refused:?}");
            assert_eq!(memory, MemoryStorage::default(), "{what}: nothing stored");
            assert_eq!(
                disk.state_dump().unwrap(),
                Default::default(),
                "{what}: nothing stored"
            );
            assert_eq!(disk.block_height().unwrap(), 0);
            assert_eq!(vm.cache_stats().entries, 0, "{what}: nothing cached");
        }
        // A refused payload leaves the store usable.
        drop(disk);
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        assert!(deploy_bytes(
            &vm,
            &DeployContractPayload::new(hello.clone()).to_bytes(),
            &mut disk
        )
        .is_ok());
    }
}

#[test]
fn the_payload_encoding_is_borsh() {
    let mut payload = DeployContractPayload::with_constructor(vec![1, 2, 3], vec![9]);
    let constructor = payload.constructor.as_mut().unwrap();
    constructor.compute_limit = 5_000;
    constructor.deposits.insert(Hash([7; 32]), 11);
    assert_eq!(
        payload.to_bytes(),
        [
            &3u32.to_le_bytes()[..],
            &[1, 2, 3],
            &[1],
            &1u32.to_le_bytes(),
            &[9],
            &5_000u64.to_le_bytes(),
            &1u32.to_le_bytes(),
            &[7; 32],
            &11u64.to_le_bytes(),
        ]
        .concat()
    );
    assert_eq!(
        DeployContractPayload::from_bytes(&payload.to_bytes()).unwrap(),
        payload
    );
    assert_eq!(payload.code_hash(), tos_vm::code_hash(&[1, 2, 3]));
}

/// The invoke payload: contract, deposits (ordered map, at most 255, no duplicates, no 0),
/// compute limit, input — borsh, round trip and every refusal.
#[test]
fn the_invoke_payload_is_borsh_with_checked_deposits() {
    let mut payload = InvokeContractPayload::new(Hash([1; 32]), vec![4, 5]);
    payload.deposits.insert(Hash([3; 32]), 30);
    payload.deposits.insert(Hash([2; 32]), 20);
    payload.compute_limit = 77;
    let bytes = payload.to_bytes();
    assert_eq!(
        bytes,
        [
            &[1; 32][..],
            &2u32.to_le_bytes(),
            &[2; 32],
            &20u64.to_le_bytes(),
            &[3; 32],
            &30u64.to_le_bytes(),
            &77u64.to_le_bytes(),
            &2u32.to_le_bytes(),
            &[4, 5],
        ]
        .concat()
    );
    assert_eq!(InvokeContractPayload::from_bytes(&bytes).unwrap(), payload);
    let call = payload.clone().into_call(Hash([9; 32]), Hash([8; 32]));
    assert_eq!(call.deposits, payload.deposits);
    assert_eq!(call.compute_limit, Some(77));
    assert_eq!(
        call.effective_budget(50),
        50,
        "the node's budget is the ceiling"
    );
    assert_eq!(call.effective_budget(100), 77);

    // The same asset twice, or out of order: not one exact encoding.
    let pair = |asset: u8, amount: u64| [&[asset; 32][..], &amount.to_le_bytes()].concat();
    let with_deposits = |pairs: &[Vec<u8>]| {
        [
            &[1; 32][..],
            &(pairs.len() as u32).to_le_bytes(),
            &pairs.concat(),
            &0u64.to_le_bytes(),
            &0u32.to_le_bytes(),
        ]
        .concat()
    };
    for pairs in [vec![pair(2, 1), pair(2, 1)], vec![pair(3, 1), pair(2, 1)]] {
        assert!(matches!(
            InvokeContractPayload::from_bytes(&with_deposits(&pairs)),
            Err(InvokePayloadError::Decode { .. })
        ));
    }
    assert!(matches!(
        InvokeContractPayload::from_bytes(&with_deposits(&[pair(2, 0)])),
        Err(InvokePayloadError::Deposits(_))
    ));
    let many: Vec<Vec<u8>> = (0..=255u8).map(|i| pair(i, 1)).collect();
    assert_eq!(many.len(), 256);
    assert!(matches!(
        InvokeContractPayload::from_bytes(&with_deposits(&many)),
        Err(InvokePayloadError::Deposits(_))
    ));
    assert!(InvokeContractPayload::from_bytes(&with_deposits(&many[..255])).is_ok());
    // Size limits, checked before decoding.
    let mut big = InvokeContractPayload::new(
        Hash([1; 32]),
        vec![0; tos_vm::runtime::limits::MAX_INPUT_LEN + 1],
    );
    assert!(matches!(
        InvokeContractPayload::from_bytes(&big.to_bytes()),
        Err(InvokePayloadError::InputTooLarge { .. })
    ));
    big.input.truncate(tos_vm::runtime::limits::MAX_INPUT_LEN);
    assert!(InvokeContractPayload::from_bytes(&big.to_bytes()).is_ok());
    assert!(matches!(
        InvokeContractPayload::from_bytes(&vec![0; tos_vm::MAX_INVOKE_PAYLOAD_LEN + 1]),
        Err(InvokePayloadError::PayloadTooLarge { .. })
    ));
    // A maximal payload fits the limit exactly.
    let mut max = InvokeContractPayload::new(
        Hash([1; 32]),
        vec![0; tos_vm::runtime::limits::MAX_INPUT_LEN],
    );
    max.deposits = (0..255u8).map(|i| (Hash([i; 32]), 1)).collect();
    assert_eq!(max.to_bytes().len(), tos_vm::MAX_INVOKE_PAYLOAD_LEN);
}
