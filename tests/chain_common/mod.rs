//! Shared by the `chain_*` tests and `benches/chain.rs`: the contracts of a test chain (the
//! examples plus probe variants, deployed through payloads), its genesis balances, and
//! generated blocks of mixed calls.
#![allow(dead_code)]

use tos_test_harness::probe::{op, Scratch, Script, Value};
use tos_vm::{replay::Transaction, Block, ChangeSet, DeployContractPayload, Hash, NATIVE_ASSET};

pub use tos_test_harness::fixtures::probe_variant_elf;

/// The height the deploy block is replayed at (genesis is height 0).
pub const DEPLOY_HEIGHT: u64 = 1;

/// A second asset every sender and every probe holds at genesis (deposits and asset transfers).
pub const TOKEN: Hash = Hash([0x70; 32]);

/// `value` native units and `token` units of [`TOKEN`] as deposits (0: none of that asset).
pub fn deposits(value: u64, token: u64) -> tos_vm::Deposits {
    let mut deposits = tos_vm::native_deposit(value);
    if token > 0 {
        deposits.insert(TOKEN, token);
    }
    deposits
}

/// Native units every sender and every probe holds at genesis.
pub const FUNDS: u64 = 1_000_000;

/// The contracts and accounts of a test chain.
#[derive(Clone)]
pub struct Universe {
    pub hello: Vec<u8>,
    pub counter: Vec<u8>,
    pub probes: Vec<Vec<u8>>,
}

impl Universe {
    /// hello-world, counter-rust and `probes` probe variants, built from source (cached).
    pub fn new(probes: u32) -> Universe {
        Universe {
            hello: tos_test_harness::fixtures::example_elf("hello-world"),
            counter: tos_test_harness::fixtures::example_elf("counter-rust"),
            probes: (1..=probes).map(probe_variant_elf).collect(),
        }
    }

    /// The address the `index`-th deploy of [`deploy_block`](Self::deploy_block) gives its
    /// contract when the block is replayed at [`DEPLOY_HEIGHT`].
    fn deployed_address(&self, index: usize) -> Hash {
        let block = self.deploy_block();
        let context = block.context(DEPLOY_HEIGHT);
        let tx = &block.transactions[index];
        let hash = tos_vm::replay::transaction_hash(&context.hash, index, tx);
        tos_vm::deploy_address(&tx.sender(), &hash)
    }

    pub fn hello_id(&self) -> Hash {
        self.deployed_address(0)
    }

    pub fn counter_id(&self) -> Hash {
        self.deployed_address(1)
    }

    pub fn probe_ids(&self) -> Vec<Hash> {
        (0..self.probes.len())
            .map(|i| self.deployed_address(2 + i))
            .collect()
    }

    /// Every contract's address.
    pub fn contracts(&self) -> Vec<Hash> {
        let mut all = vec![self.hello_id(), self.counter_id()];
        all.extend(self.probe_ids());
        all
    }

    /// Every contract as (address, ELF), in the order of [`contracts`](Self::contracts).
    pub fn instances(&self) -> Vec<(Hash, Vec<u8>)> {
        let elfs = [&self.hello, &self.counter].into_iter().chain(&self.probes);
        self.contracts().into_iter().zip(elfs.cloned()).collect()
    }

    /// Senders shared by every contract (conflicting blocks use them).
    pub fn shared_senders(&self) -> Vec<Hash> {
        (0..3u8).map(|i| Hash([0x5E - i; 32])).collect()
    }

    /// The sender dedicated to contract `i` of [`contracts`](Self::contracts) (conflict-free
    /// blocks use them).
    pub fn own_sender(&self, i: usize) -> Hash {
        Hash([0x70 + i as u8; 32])
    }

    /// The account only probe `i` transfers to in conflict-free blocks.
    pub fn sink(&self, i: usize) -> Hash {
        Hash([0xA0 + i as u8; 32])
    }

    /// Balances of every sender and every probe.
    pub fn genesis(&self) -> ChangeSet {
        let mut changes = ChangeSet::default();
        for sender in self.shared_senders() {
            changes.set_balance(sender, NATIVE_ASSET, FUNDS);
            changes.set_balance(sender, TOKEN, FUNDS);
        }
        for i in 0..self.contracts().len() {
            changes.set_balance(self.own_sender(i), NATIVE_ASSET, FUNDS);
            changes.set_balance(self.own_sender(i), TOKEN, FUNDS);
        }
        for probe in self.probe_ids() {
            changes.set_balance(probe, NATIVE_ASSET, FUNDS);
            changes.set_balance(probe, TOKEN, FUNDS);
        }
        changes
    }

    /// A block deploying every contract through payloads; the first probe's constructor
    /// writes `owner`.
    pub fn deploy_block(&self) -> Block {
        let deployer = self.shared_senders()[0];
        let mut transactions = vec![
            Transaction::Deploy {
                sender: deployer,
                payload: DeployContractPayload::new(self.hello.clone()),
            },
            Transaction::Deploy {
                sender: deployer,
                payload: DeployContractPayload::new(self.counter.clone()),
            },
        ];
        for (i, elf) in self.probes.iter().enumerate() {
            let payload = if i == 0 {
                DeployContractPayload::with_constructor(
                    elf.clone(),
                    Script::new().storage_write(b"owner", &deployer.0).build(0),
                )
            } else {
                DeployContractPayload::new(elf.clone())
            };
            transactions.push(Transaction::Deploy {
                sender: deployer,
                payload,
            });
        }
        Block {
            timestamp: 1_700_000_000,
            transactions,
        }
    }
}

/// Reads `key` into the scratch buffer and logs the first 8 bytes of it (`s=…`).
pub fn read(script: Script, key: &[u8]) -> Script {
    let k = key.to_vec();
    script
        .call(op::MEMSET, &[Scratch(0), Value(0), Value(8)])
        .with_data(&k, |s, key| {
            s.call(
                op::STORAGE_READ,
                &[key, Value(k.len() as u64), Scratch(0), Value(64)],
            )
        })
        .call(op::ECHO_SCRATCH, &[Value(0), Value(8)])
}

pub fn transfer(script: Script, to: Hash, amount: u64) -> Script {
    script.with_data(&to.0, |s, to| s.call(op::TRANSFER, &[to, Value(amount)]))
}

/// `amount` of [`TOKEN`] from the running probe to `to`.
pub fn transfer_token(script: Script, to: Hash, amount: u64) -> Script {
    script.with_data(&to.0, |s, to| {
        s.with_data(&TOKEN.0, |s, token| {
            s.call(op::TRANSFER_ASSET, &[to, token, Value(amount)])
        })
    })
}

/// The [`TOKEN`] balance of `account`.
pub fn token_balance_of(script: Script, account: Hash) -> Script {
    script.with_data(&account.0, |s, account| {
        s.with_data(&TOKEN.0, |s, token| {
            s.call(op::ASSET_BALANCE, &[account, token])
        })
    })
}

pub fn balance_of(script: Script, account: Hash) -> Script {
    script.with_data(&account.0, |s, account| s.call(op::GET_BALANCE, &[account]))
}

pub fn emit(script: Script, topic: &[u8], data: &[u8]) -> Script {
    let (t, d) = (topic.to_vec(), data.to_vec());
    script.with_data(&t, |s, topic| {
        s.with_data(&d, |s, data| {
            s.call(
                op::EMIT_EVENT,
                &[topic, Value(t.len() as u64), data, Value(d.len() as u64)],
            )
        })
    })
}

pub fn invoke(script: Script, callee: Hash, input: &[u8], value: u64) -> Script {
    let len = input.len() as u64;
    let input = input.to_vec();
    script.with_data(&callee.0, |s, hash| {
        s.with_data(&input, |s, input| {
            s.call(op::INVOKE, &[hash, input, Value(len), Value(value)])
        })
    })
}

pub fn panic(script: Script, message: &[u8]) -> Script {
    let m = message.to_vec();
    script.with_data(&m, |s, msg| {
        s.call(op::PANIC, &[msg, Value(m.len() as u64)])
    })
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// `count` mixed calls. `conflict_free`: every call touches only its own contract's state, its
/// dedicated sender and (for probes) a dedicated sink — calls on different contracts are
/// disjoint. Otherwise senders are shared, values are sent, probes pay shared accounts and
/// call each other, and some calls fail, abort or are rejected.
pub fn mixed_calls(
    universe: &Universe,
    count: usize,
    seed: u64,
    conflict_free: bool,
) -> Vec<Transaction> {
    mixed_calls_with(universe, count, seed, conflict_free, !conflict_free)
}

/// [`mixed_calls`], choosing whether conflicting blocks include calls that spin until their
/// compute budget runs out (they dominate a block's time; benchmarks leave them out).
pub fn mixed_calls_with(
    universe: &Universe,
    count: usize,
    seed: u64,
    conflict_free: bool,
    spin: bool,
) -> Vec<Transaction> {
    let mut rng = Rng::new(seed);
    // Asset choices draw from their own generator, so the rest of a seed's block is what it
    // was before assets were in the mix.
    let mut assets = Rng::new(seed ^ 0xA55E7);
    let contracts = universe.contracts();
    let probes = universe.probe_ids();
    let shared = universe.shared_senders();
    let mut calls = Vec::with_capacity(count);
    for _ in 0..count {
        let target = rng.below(contracts.len() as u64) as usize;
        let contract = contracts[target];
        let sender = if conflict_free {
            universe.own_sender(target)
        } else {
            *rng.pick(&shared)
        };
        let value = match rng.below(6) {
            0 => 1 + rng.below(100),
            1 if !conflict_free => FUNDS * 10, // more than the sender holds: aborted
            _ => 0,
        };
        // A deposit in a second asset now and then (all deposits move or none).
        let token = match assets.below(12) {
            0 | 1 => 1 + assets.below(50),
            2 if !conflict_free => FUNDS * 10, // not covered: aborted, the native one stays too
            _ => 0,
        };
        let input = if target < 2 {
            Vec::new()
        } else {
            let probe = target - 2;
            let mut script = Script::new();
            for _ in 0..1 + rng.below(3) {
                let key = [b'k', b'0' + rng.below(4) as u8];
                let data = rng.next().to_le_bytes();
                script = match rng.below(9) {
                    0 | 1 => script.storage_write(&key, &data),
                    2 => read(script, &key),
                    3 => script.storage_delete(&key),
                    4 => emit(script, b"topic", &data),
                    5 => {
                        let to = if conflict_free {
                            universe.sink(probe)
                        } else {
                            *rng.pick(&[shared[0], shared[1], universe.counter_id(), probes[0]])
                        };
                        if assets.below(2) == 0 {
                            transfer(script, to, 1 + rng.below(10))
                        } else {
                            transfer_token(script, to, 1 + rng.below(10))
                        }
                    }
                    6 => balance_of(
                        script,
                        if conflict_free {
                            contract
                        } else {
                            *rng.pick(&shared)
                        },
                    ),
                    7 if !conflict_free => {
                        let callee = *rng.pick(&probes);
                        invoke(
                            script,
                            callee,
                            &Script::new().storage_write(&key, &data).build(0),
                            0,
                        )
                    }
                    _ => script.call(op::BLOCK_HEIGHT, &[]),
                };
            }
            match rng.below(20) {
                0 => script.build(3),                             // fails: effects discarded
                1 => panic(script, b"boom").build(0),             // aborts
                2 if spin => script.call(op::SPIN, &[]).build(0), // compute exhausted
                _ => script.build(0),
            }
        };
        let contract = if !conflict_free && rng.below(50) == 0 {
            Hash([0xEE; 32]) // no such contract: rejected
        } else {
            contract
        };
        calls.push(Transaction::Call {
            sender,
            contract: contract.into(),
            input,
            deposits: deposits(value, token),
            compute_limit: None,
        });
    }
    calls
}

/// A block of `count` mixed calls: a conflict-free half, a deploy that changes nothing (a
/// barrier between segments), then a conflicting half.
pub fn mixed_block(universe: &Universe, count: usize, seed: u64) -> Block {
    let mut transactions = mixed_calls(universe, count / 2, seed, true);
    transactions.push(Transaction::Deploy {
        sender: universe.shared_senders()[1],
        payload: DeployContractPayload::new(universe.hello.clone()),
    });
    transactions.extend(mixed_calls(
        universe,
        count - count / 2,
        seed ^ 0xC0FFEE,
        false,
    ));
    Block {
        timestamp: 1_700_000_600,
        transactions,
    }
}
