//! The JSON block file format (feature `json`): hex for bytes and hashes, code inline or by
//! file, deposits as asset → amount.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};
use tos_program_runtime::{check_deposits, native_deposit, Deposits};
use tos_storage::Hash;

use super::{
    format::{read_block_input, BlockFileError},
    types::{Block, CallTarget, Transaction},
};
use crate::payload::{ConstructorPayload, DeployContractPayload, NO_COMPUTE_LIMIT};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBlock {
    #[serde(default)]
    timestamp: u64,
    transactions: Vec<JsonTransaction>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum JsonTransaction {
    Deploy(JsonDeploy),
    Call(JsonCall),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDeploy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    /// The ELF as hex…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// …or a path to it, relative to the block file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    constructor_input: Option<String>,
    /// The constructor's compute limit (needs `constructor_input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    constructor_compute_limit: Option<u64>,
    /// The constructor's deposits: asset (64 hex) → amount (needs `constructor_input`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    constructor_deposits: BTreeMap<String, u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    /// The contract's address as 64 hex digits…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contract: Option<String>,
    /// …or the index of the deploy, earlier in this block, that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deployed_by: Option<u32>,
    #[serde(default)]
    input: String,
    /// Shorthand for a native deposit.
    #[serde(default, skip_serializing_if = "is_zero")]
    value: u64,
    /// Deposits: asset (64 hex) → amount.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    deposits: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compute_limit: Option<u64>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// The JSON form of deposits (asset hex → amount), plus `value` as a native deposit.
fn parse_deposits(
    value: u64,
    deposits: BTreeMap<String, u64>,
    invalid: &dyn Fn(String) -> BlockFileError,
) -> Result<Deposits, BlockFileError> {
    let mut parsed = native_deposit(value);
    for (asset, amount) in deposits {
        let asset = Hash::from_hex(&asset)
            .ok_or_else(|| invalid(format!("deposit asset `{asset}` must be 64 hex digits")))?;
        if parsed.insert(asset, amount).is_some() {
            return Err(invalid(format!(
                "asset {asset} is deposited twice (`value` is the native asset)"
            )));
        }
    }
    check_deposits(&parsed).map_err(|e| invalid(e.to_string()))?;
    Ok(parsed)
}

/// Deposits as JSON (asset hex → amount).
fn deposits_json(deposits: &Deposits) -> BTreeMap<String, u64> {
    deposits
        .iter()
        .map(|(asset, amount)| (asset.to_hex(), *amount))
        .collect()
}

impl Block {
    /// Parses the JSON block format:
    ///
    /// ```json
    /// { "timestamp": 1700000000,
    ///   "transactions": [
    ///     { "deploy": { "sender": "<64 hex>", "code_file": "counter.so" } },
    ///     { "call": { "sender": "<64 hex>", "deployed_by": 0, "input": "00ff", "value": 5 } },
    ///     { "call": { "sender": "<64 hex>", "contract": "<64 hex>" } }
    /// ] }
    /// ```
    ///
    /// A deploy has `code` (hex) or `code_file`, and optionally `constructor_input` (hex); a
    /// call has `contract` (an address) or `deployed_by` (the index of an earlier deploy of
    /// the block). `sender` defaults to zeros, `input` to empty, `value` to 0.
    pub fn from_json(text: &str, base_dir: &Path) -> Result<Block, BlockFileError> {
        let json: JsonBlock = serde_json::from_str(text)?;
        let mut transactions = Vec::with_capacity(json.transactions.len());
        for (index, tx) in json.transactions.into_iter().enumerate() {
            let invalid = |what: String| BlockFileError::Invalid { index, what };
            let hash = |field: &str, text: Option<String>| -> Result<Hash, BlockFileError> {
                match text {
                    None => Ok(Hash::default()),
                    Some(text) => Hash::from_hex(&text)
                        .ok_or_else(|| invalid(format!("`{field}` must be 64 hex digits"))),
                }
            };
            let bytes = |field: &str, text: &str| -> Result<Vec<u8>, BlockFileError> {
                hex::decode(text.trim_start_matches("0x"))
                    .map_err(|e| invalid(format!("`{field}` is not hex: {e}")))
            };
            let file = |name: &str| -> Result<Vec<u8>, BlockFileError> {
                read_block_input(&base_dir.join(name), crate::MAX_CODE_LEN)
            };
            transactions.push(match tx {
                JsonTransaction::Deploy(deploy) => {
                    let code = match (deploy.code, deploy.code_file) {
                        (Some(code), None) => bytes("code", &code)?,
                        (None, Some(name)) => file(&name)?,
                        _ => return Err(invalid("a deploy needs `code` or `code_file`".into())),
                    };
                    let constructor = match deploy.constructor_input {
                        Some(input) => Some(ConstructorPayload {
                            input: bytes("constructor_input", &input)?,
                            compute_limit: deploy
                                .constructor_compute_limit
                                .unwrap_or(NO_COMPUTE_LIMIT),
                            deposits: parse_deposits(0, deploy.constructor_deposits, &invalid)?,
                        }),
                        None if deploy.constructor_compute_limit.is_some()
                            || !deploy.constructor_deposits.is_empty() =>
                        {
                            return Err(invalid(
                                "constructor fields need `constructor_input`".into(),
                            ))
                        }
                        None => None,
                    };
                    Transaction::Deploy {
                        sender: hash("sender", deploy.sender)?,
                        payload: DeployContractPayload { code, constructor },
                    }
                }
                JsonTransaction::Call(call) => {
                    let contract = match (call.contract, call.deployed_by) {
                        (Some(text), None) => CallTarget::Address(hash("contract", Some(text))?),
                        (None, Some(deploy)) => CallTarget::DeployedBy(deploy),
                        _ => {
                            return Err(invalid("a call needs `contract` or `deployed_by`".into()))
                        }
                    };
                    Transaction::Call {
                        sender: hash("sender", call.sender)?,
                        contract,
                        input: bytes("input", &call.input)?,
                        deposits: parse_deposits(call.value, call.deposits, &invalid)?,
                        compute_limit: call.compute_limit,
                    }
                }
            });
        }
        Ok(Block {
            timestamp: json.timestamp,
            transactions,
        })
    }

    /// The JSON block format, code inline as hex.
    pub fn to_json(&self) -> String {
        let json = JsonBlock {
            timestamp: self.timestamp,
            transactions: self
                .transactions
                .iter()
                .map(|tx| match tx {
                    Transaction::Deploy { sender, payload } => {
                        JsonTransaction::Deploy(JsonDeploy {
                            sender: Some(sender.to_hex()),
                            code: Some(hex::encode(&payload.code)),
                            code_file: None,
                            constructor_input: payload
                                .constructor
                                .as_ref()
                                .map(|c| hex::encode(&c.input)),
                            constructor_compute_limit: payload
                                .constructor
                                .as_ref()
                                .map(|c| c.compute_limit)
                                .filter(|limit| *limit != NO_COMPUTE_LIMIT),
                            constructor_deposits: payload
                                .constructor
                                .as_ref()
                                .map(|c| deposits_json(&c.deposits))
                                .unwrap_or_default(),
                        })
                    }
                    Transaction::Call {
                        sender,
                        contract,
                        input,
                        deposits,
                        compute_limit,
                    } => JsonTransaction::Call(JsonCall {
                        sender: Some(sender.to_hex()),
                        contract: match contract {
                            CallTarget::Address(address) => Some(address.to_hex()),
                            CallTarget::DeployedBy(_) => None,
                        },
                        deployed_by: match contract {
                            CallTarget::Address(_) => None,
                            CallTarget::DeployedBy(index) => Some(*index),
                        },
                        input: hex::encode(input),
                        value: 0,
                        deposits: deposits_json(deposits),
                        compute_limit: *compute_limit,
                    }),
                })
                .collect(),
        };
        serde_json::to_string_pretty(&json).expect("a block always serializes")
    }
}
