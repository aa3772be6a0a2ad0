//! Contract interfaces at deploy: an executable whose `.tos.interface` section was tampered
//! with is refused with a typed error and nothing is stored or run; without an interface a
//! contract deploys and runs as before.

use tos_vm::loader::{interface::InterfaceError, LoaderError};
use tos_vm::{
    deploy_address, BlockContext, ContractCall, Engine, Hash, MemoryStorage, StorageProvider, Vm,
    VmConfig, VmError,
};

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_tampered_interface_is_refused_at_deploy_and_nothing_is_stored() {
    let elf = tos_test_harness::fixtures::example_elf("kv-store");
    assert!(tos_vm::loader::interface_of(&elf).expect("valid").is_some());
    let at = find(&elf, b"\"get\"").expect("the interface names `get`");
    let mut tampered = elf.clone();
    tampered[at + 3] = b'x'; // "gex": the declared selector no longer matches
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = Vm::new(VmConfig {
            engine,
            ..VmConfig::default()
        });
        let mut store = MemoryStorage::default();
        let address = deploy_address(&Hash([1; 32]), &Hash([2; 32]));
        match vm
            .deploy(&tampered, address, &mut store)
            .map(|deployed| deployed.contract)
        {
            Err(VmError::Deploy {
                error: tos_vm::DeployError::InvalidElf(LoaderError::InvalidInterface(e)),
                deploy_units,
            }) => assert!(
                deploy_units > tos_vm::DEPLOY_BASE_COST
                    && matches!(*e, InterfaceError::SelectorMismatch { ref method, .. } if method == "gex"),
                "{e:?}"
            ),
            other => panic!("expected an interface refusal, got {other:?}"),
        }
        assert!(store.read_contract(&address).expect("reads").is_none());
        assert!(!store
            .has_code(&tos_vm::code_hash(&tampered))
            .expect("reads"));
    }
}

#[test]
fn a_contract_without_an_interface_deploys_and_runs() {
    let elf = tos_test_harness::fixtures::example_elf("hello-world");
    assert_eq!(tos_vm::loader::interface_of(&elf).expect("valid"), None);
    let vm = Vm::new(VmConfig::default());
    let mut store = MemoryStorage::default();
    let address = vm
        .deploy(
            &elf,
            deploy_address(&Hash([1; 32]), &Hash([3; 32])),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .expect("deploys");
    let outcome = vm
        .invoke(
            &ContractCall::new(address, Vec::new()),
            &BlockContext::default(),
            &mut store,
        )
        .expect("runs");
    assert!(outcome.status.is_success());
    assert_eq!(outcome.logs[0].message, "Hello, TOS!");
}
