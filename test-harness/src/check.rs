//! [`Check`]: one expectation about an [`Invocation`].

use std::{fmt, ops::RangeInclusive};

use tos_storage::{Hash, StorageProvider, NATIVE_ASSET};

use crate::{
    abort::Abort,
    harness::{Invocation, Status},
    report::{self, Verdict},
};

type AbortPredicate = Box<dyn Fn(&Abort) -> bool>;
type CustomCheck = Box<dyn Fn(&Invocation) -> Result<(), String>>;

/// One expectation about a call, for [`Invocation::expect`].
///
/// ```
/// # use tos_test_harness::Check;
/// # use tos_storage::Hash;
/// let checks = [
///     Check::success(),
///     Check::compute_units(1_234),
///     Check::log("count = 1"),
///     Check::storage(b"count", 1u64.to_le_bytes()),
///     Check::balance(Hash([1; 32]), 500),
/// ];
/// # let _ = checks;
/// ```
pub struct Check(Kind);

enum Kind {
    Success,
    Unsuccessful,
    Error(u64),
    AnyError,
    Aborted,
    AbortedAs(String),
    AbortedWith(String, AbortPredicate),
    ComputeUnits(u64),
    ComputeUnitsIn(RangeInclusive<u64>),
    Log(String),
    LogContaining(String),
    Logs(Vec<String>),
    Storage {
        contract: Option<Hash>,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    Balance {
        account: Hash,
        asset: Hash,
        amount: u64,
    },
    Unchanged,
    ReturnData(Option<Vec<u8>>),
    Event {
        topic: Vec<u8>,
        data: Vec<u8>,
    },
    Custom(String, CustomCheck),
}

impl Check {
    /// The contract returned 0 (its effects were committed).
    pub fn success() -> Check {
        Check(Kind::Success)
    }

    /// The call did not succeed: a non-zero status or an abort (effects discarded either way).
    pub fn unsuccessful() -> Check {
        Check(Kind::Unsuccessful)
    }

    /// The contract returned the non-zero status `code` (its effects were discarded).
    pub fn error(code: u64) -> Check {
        Check(Kind::Error(code))
    }

    /// The contract returned some non-zero status.
    pub fn failed() -> Check {
        Check(Kind::AnyError)
    }

    /// The VM aborted the call, for whatever reason.
    pub fn aborted() -> Check {
        Check(Kind::Aborted)
    }

    /// The VM aborted the call with an error of this variant name ([`Abort::kind`]):
    /// `"AccessViolation"`, `"ComputeBudgetExceeded"`, `"KeyTooLong"`, `"InsufficientBalance"`...
    pub fn abort(kind: &str) -> Check {
        Check(Kind::AbortedAs(kind.to_string()))
    }

    /// Shorthand for `Check::abort("AccessViolation")`.
    pub fn access_violation() -> Check {
        Check::abort("AccessViolation")
    }

    /// Shorthand for `Check::abort("ComputeBudgetExceeded")`.
    pub fn compute_exhausted() -> Check {
        Check::abort("ComputeBudgetExceeded")
    }

    /// The VM aborted the call with an error `matches` accepts, e.g.
    /// `Check::aborted_with(|e| matches!(e, Abort::Syscall(SyscallError::KeyTooLong { .. })))`.
    pub fn aborted_with(matches: impl Fn(&Abort) -> bool + 'static) -> Check {
        Check(Kind::AbortedWith(
            "an abort the predicate accepts".into(),
            Box::new(matches),
        ))
    }

    /// [`Check::aborted_with`] with a description for the report.
    pub fn aborted_with_described(
        description: &str,
        matches: impl Fn(&Abort) -> bool + 'static,
    ) -> Check {
        Check(Kind::AbortedWith(description.into(), Box::new(matches)))
    }

    /// Exactly `units` compute units were used.
    pub fn compute_units(units: u64) -> Check {
        Check(Kind::ComputeUnits(units))
    }

    /// The compute used lies in `range`.
    pub fn compute_units_in(range: RangeInclusive<u64>) -> Check {
        Check(Kind::ComputeUnitsIn(range))
    }

    /// Some log line is exactly `message`.
    pub fn log(message: impl Into<String>) -> Check {
        Check(Kind::Log(message.into()))
    }

    /// Some log line contains `part`.
    pub fn log_containing(part: impl Into<String>) -> Check {
        Check(Kind::LogContaining(part.into()))
    }

    /// The log lines are exactly `messages`, in order.
    pub fn logs<S: AsRef<str>>(messages: &[S]) -> Check {
        Check(Kind::Logs(
            messages.iter().map(|m| m.as_ref().to_string()).collect(),
        ))
    }

    /// No log line at all.
    pub fn no_logs() -> Check {
        Check(Kind::Logs(Vec::new()))
    }

    /// After the call, the called contract's `key` holds `value`.
    pub fn storage(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Check {
        Check(Kind::Storage {
            contract: None,
            key: key.as_ref().to_vec(),
            value: Some(value.as_ref().to_vec()),
        })
    }

    /// After the call, the called contract's `key` holds the `u64` `value` (8 bytes, LE).
    pub fn storage_u64(key: impl AsRef<[u8]>, value: u64) -> Check {
        Check::storage(key, value.to_le_bytes())
    }

    /// After the call, the called contract has no value under `key`.
    pub fn storage_absent(key: impl AsRef<[u8]>) -> Check {
        Check(Kind::Storage {
            contract: None,
            key: key.as_ref().to_vec(),
            value: None,
        })
    }

    /// After the call, `contract`'s `key` holds `value` (`None`: absent).
    pub fn contract_storage(contract: Hash, key: impl AsRef<[u8]>, value: Option<&[u8]>) -> Check {
        Check(Kind::Storage {
            contract: Some(contract),
            key: key.as_ref().to_vec(),
            value: value.map(<[u8]>::to_vec),
        })
    }

    /// After the call, `account` holds `amount` of the native asset.
    pub fn balance(account: Hash, amount: u64) -> Check {
        Check(Kind::Balance {
            account,
            asset: NATIVE_ASSET,
            amount,
        })
    }

    /// After the call, `account` holds `amount` of `asset`.
    pub fn asset_balance(account: Hash, asset: Hash, amount: u64) -> Check {
        Check(Kind::Balance {
            account,
            asset,
            amount,
        })
    }

    /// The state after the call equals the state before, and the call reported no effects.
    pub fn unchanged() -> Check {
        Check(Kind::Unchanged)
    }

    /// The call's return data is `data`.
    pub fn return_data(data: impl AsRef<[u8]>) -> Check {
        Check(Kind::ReturnData(Some(data.as_ref().to_vec())))
    }

    /// The call set no return data.
    pub fn no_return_data() -> Check {
        Check(Kind::ReturnData(None))
    }

    /// The call emitted an event with this topic and data.
    pub fn event(topic: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Check {
        Check(Kind::Event {
            topic: topic.as_ref().to_vec(),
            data: data.as_ref().to_vec(),
        })
    }

    /// Anything else: `check` returns `Err(explanation)` when the call is not as expected.
    pub fn custom(
        name: &str,
        check: impl Fn(&Invocation) -> Result<(), String> + 'static,
    ) -> Check {
        Check(Kind::Custom(name.to_string(), Box::new(check)))
    }

    /// The check's name in reports.
    pub fn name(&self) -> String {
        match &self.0 {
            Kind::Success => "success".into(),
            Kind::Unsuccessful => "unsuccessful".into(),
            Kind::Error(code) => format!("error({code})"),
            Kind::AnyError => "failed".into(),
            Kind::Aborted => "aborted".into(),
            Kind::AbortedAs(kind) => format!("abort({kind})"),
            Kind::AbortedWith(description, _) => format!("aborted_with({description})"),
            Kind::ComputeUnits(units) => format!("compute_units({units})"),
            Kind::ComputeUnitsIn(range) => {
                format!("compute_units_in({}..={})", range.start(), range.end())
            }
            Kind::Log(message) => format!("log({message:?})"),
            Kind::LogContaining(part) => format!("log_containing({part:?})"),
            Kind::Logs(messages) => format!("logs({} lines)", messages.len()),
            Kind::Storage { contract, key, .. } => match contract {
                None => format!("storage({})", report::key(key)),
                Some(contract) => {
                    format!("storage({}, {})", report::short(contract), report::key(key))
                }
            },
            Kind::Balance { account, asset, .. } if *asset == NATIVE_ASSET => {
                format!("balance({})", report::short(account))
            }
            Kind::Balance { account, asset, .. } => format!(
                "balance({}, asset {})",
                report::short(account),
                report::short(asset)
            ),
            Kind::Unchanged => "unchanged".into(),
            Kind::ReturnData(_) => "return_data".into(),
            Kind::Event { topic, .. } => format!("event({})", report::key(topic)),
            Kind::Custom(name, _) => name.clone(),
        }
    }

    /// Evaluates the check against `invocation`.
    pub(crate) fn verdict(&self, inv: &Invocation) -> Verdict {
        let status = || inv.status.to_string();
        match &self.0 {
            Kind::Success => {
                Verdict::compare(matches!(inv.status, Status::Success), "success", status())
            }
            Kind::Unsuccessful => Verdict::compare(
                !matches!(inv.status, Status::Success),
                "a non-zero status or an abort",
                status(),
            ),
            Kind::Error(code) => Verdict::compare(
                matches!(inv.status, Status::Failed(actual) if actual == *code),
                format!("failed with status {code}"),
                status(),
            ),
            Kind::AnyError => Verdict::compare(
                matches!(inv.status, Status::Failed(_)),
                "failed with a non-zero status",
                status(),
            ),
            Kind::Aborted => Verdict::compare(inv.abort().is_some(), "aborted by the VM", status()),
            Kind::AbortedAs(kind) => Verdict::compare(
                inv.abort().is_some_and(|abort| abort.kind() == *kind),
                format!("aborted: {kind}"),
                status(),
            ),
            Kind::AbortedWith(description, predicate) => Verdict::compare(
                inv.abort().is_some_and(predicate),
                format!("aborted: {description}"),
                status(),
            ),
            Kind::ComputeUnits(units) => Verdict::numbers(*units, inv.compute_used),
            Kind::ComputeUnitsIn(range) => Verdict::compare(
                range.contains(&inv.compute_used),
                format!("{} ..= {}", range.start(), range.end()),
                inv.compute_used.to_string(),
            ),
            Kind::Log(message) => {
                let logs = inv.logs();
                Verdict::lines(
                    logs.iter().any(|l| l == message),
                    format!("a log line {message:?}"),
                    &logs,
                )
            }
            Kind::LogContaining(part) => {
                let logs = inv.logs();
                Verdict::lines(
                    logs.iter().any(|l| l.contains(part.as_str())),
                    format!("a log line containing {part:?}"),
                    &logs,
                )
            }
            Kind::Logs(expected) => {
                let actual = inv.logs();
                Verdict::list_diff(expected == &actual, expected, &actual)
            }
            Kind::Storage {
                contract,
                key,
                value,
            } => {
                let contract = contract.unwrap_or(inv.contract);
                let actual = inv.after.read_storage(&contract, key).ok().flatten();
                Verdict::compare(
                    actual == *value,
                    report::value_opt(value.as_deref()),
                    report::value_opt(actual.as_deref()),
                )
            }
            Kind::Balance {
                account,
                asset,
                amount,
            } => {
                let actual = inv.after.read_balance(account, asset).unwrap_or(0);
                Verdict::numbers(*amount, actual)
            }
            Kind::Unchanged => {
                let same = inv.before == inv.after && inv.effects.is_empty();
                Verdict::compare(
                    same,
                    "no change to the state",
                    if same {
                        "no change".to_string()
                    } else {
                        report::changes_summary(inv)
                    },
                )
            }
            Kind::ReturnData(expected) => {
                let actual = inv.return_data.as_ref().map(|r| r.data.clone());
                Verdict::compare(
                    actual == *expected,
                    report::value_opt(expected.as_deref()),
                    report::value_opt(actual.as_deref()),
                )
            }
            Kind::Event { topic, data } => {
                let found = inv
                    .events
                    .iter()
                    .any(|e| e.topic == *topic && e.data == *data);
                let actual: Vec<String> = inv
                    .events
                    .iter()
                    .map(|e| format!("{} {}", report::key(&e.topic), report::value(&e.data)))
                    .collect();
                Verdict::lines(
                    found,
                    format!("an event {} {}", report::key(topic), report::value(data)),
                    &actual,
                )
            }
            Kind::Custom(_, check) => match check(inv) {
                Ok(()) => Verdict::pass(),
                Err(explanation) => Verdict::explained(explanation),
            },
        }
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
