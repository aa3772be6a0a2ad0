//! Readable failure reports: expected against actual per check, line diffs for lists, and
//! what the two engines each did when they disagree.

use std::{collections::BTreeMap, fmt};

use tos_program_runtime::{ContractCall, Engine};
use tos_storage::Hash;

use crate::{
    check::Check,
    harness::{EngineRun, Invocation},
};

/// The outcome of one check.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub ok: bool,
    /// Lines explaining a failure (already indented by the report).
    pub detail: Vec<String>,
}

impl Verdict {
    pub fn pass() -> Verdict {
        Verdict {
            ok: true,
            detail: Vec::new(),
        }
    }

    pub fn explained(text: String) -> Verdict {
        Verdict {
            ok: false,
            detail: text.lines().map(str::to_string).collect(),
        }
    }

    pub fn compare(ok: bool, expected: impl fmt::Display, actual: impl fmt::Display) -> Verdict {
        Verdict {
            ok,
            detail: vec![
                format!("expected: {expected}"),
                format!("actual:   {actual}"),
            ],
        }
    }

    pub fn numbers(expected: u64, actual: u64) -> Verdict {
        let delta = i128::from(actual) - i128::from(expected);
        Verdict {
            ok: expected == actual,
            detail: vec![
                format!("expected: {}", group(expected)),
                format!("actual:   {} ({delta:+})", group(actual)),
            ],
        }
    }

    /// "expected X; the lines were: ..."
    pub fn lines(ok: bool, expected: String, actual: &[String]) -> Verdict {
        let mut detail = vec![format!("expected: {expected}")];
        if actual.is_empty() {
            detail.push("actual:   none".into());
        } else {
            detail.push("actual:".into());
            detail.extend(actual.iter().map(|line| format!("  {line:?}")));
        }
        Verdict { ok, detail }
    }

    /// A line diff of two lists: `-` expected only, `+` actual only.
    pub fn list_diff(ok: bool, expected: &[String], actual: &[String]) -> Verdict {
        let mut detail = vec!["--- expected".to_string(), "+++ actual".to_string()];
        detail.extend(line_diff(expected, actual));
        Verdict { ok, detail }
    }
}

/// `- a` / `+ b` / `  same` lines, each line quoted (a longest-common-subsequence diff; lists
/// are short).
pub fn line_diff(expected: &[String], actual: &[String]) -> Vec<String> {
    diff_lines(expected, actual, true)
}

pub(crate) fn diff_lines(expected: &[String], actual: &[String], quote: bool) -> Vec<String> {
    let show = |line: &String| {
        if quote {
            format!("{line:?}")
        } else {
            line.clone()
        }
    };
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            out.push(format!("  {}", show(&expected[i])));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", show(&actual[j])));
            j += 1;
        } else {
            out.push(format!("- {}", show(&expected[i])));
            i += 1;
        }
    }
    if out.is_empty() {
        out.push("  (no lines)".into());
    }
    out
}

/// `1234567` → `1 234 567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// First 8 hex digits of a hash.
pub fn short(hash: &Hash) -> String {
    hash.to_hex()[..8].to_string()
}

pub fn contract_name(names: &BTreeMap<Hash, String>, contract: &Hash) -> String {
    match names.get(contract) {
        Some(name) => format!("{name} ({})", short(contract)),
        None => format!("contract {}", short(contract)),
    }
}

fn printable(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.chars()
        .all(|c| !c.is_control() || c == ' ')
        .then_some(text)
}

fn hex_grouped(bytes: &[u8]) -> String {
    const SHOWN: usize = 48;
    let mut out = String::new();
    for (i, chunk) in bytes[..bytes.len().min(SHOWN)].chunks(8).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&hex::encode(chunk));
    }
    if bytes.len() > SHOWN {
        out.push_str(&format!(" … ({} bytes)", bytes.len()));
    }
    out
}

/// A storage key: text when printable, else hex.
pub fn key(bytes: &[u8]) -> String {
    match printable(bytes) {
        Some(text) => format!("{text:?}"),
        None => format!("0x{}", hex_grouped(bytes)),
    }
}

/// A value: text when printable, else grouped hex; 8-byte values also as a little-endian u64.
pub fn value(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "\"\" (empty)".into();
    }
    if let Some(text) = printable(bytes) {
        return format!("{text:?}");
    }
    let mut out = format!("0x{}", hex_grouped(bytes));
    if let Ok(word) = <[u8; 8]>::try_from(bytes) {
        out.push_str(&format!(" (u64 {})", u64::from_le_bytes(word)));
    } else if bytes.len() > 8 {
        out.push_str(&format!(" [{} bytes]", bytes.len()));
    }
    out
}

pub fn value_opt(bytes: Option<&[u8]>) -> String {
    match bytes {
        Some(bytes) => value(bytes),
        None => "absent".into(),
    }
}

/// One line per change between `inv.before` and `inv.after` (from the journal's effects).
pub fn changes_summary(inv: &Invocation) -> String {
    let lines = effect_lines(inv);
    if lines.is_empty() {
        "the state differs (no effect reported)".into()
    } else {
        lines.join("; ")
    }
}

fn decode(hex_text: &Option<String>) -> Option<Vec<u8>> {
    hex_text.as_ref().and_then(|h| hex::decode(h).ok())
}

fn effect_lines(inv: &Invocation) -> Vec<String> {
    let name = |hex_hash: &str| {
        Hash::from_hex(hex_hash)
            .map(|hash| inv.name_of(&hash))
            .unwrap_or_else(|| hex_hash.to_string())
    };
    let mut lines = Vec::new();
    for change in &inv.effects.storage {
        let key_bytes = hex::decode(&change.key).unwrap_or_default();
        lines.push(format!(
            "storage {} {}: {} → {}",
            name(&change.contract),
            key(&key_bytes),
            value_opt(decode(&change.old).as_deref()),
            value_opt(decode(&change.new).as_deref()),
        ));
    }
    for change in &inv.effects.balances {
        lines.push(format!(
            "balance {}: {} → {}",
            name(&change.account),
            group(change.old),
            group(change.new)
        ));
    }
    for transfer in &inv.effects.transfers {
        lines.push(format!(
            "transfer {} → {}: {}",
            name(&transfer.from),
            name(&transfer.to),
            group(transfer.amount)
        ));
    }
    lines
}

/// What the call did, for the end of a report.
pub fn describe(inv: &Invocation) -> Vec<String> {
    let engines: Vec<String> = inv.engines.iter().map(|e| format!("{e:?}")).collect();
    let mut out = vec![
        format!("status:      {}", inv.status),
        format!("compute:     {} units", group(inv.compute_used)),
    ];
    let logs = inv.logs();
    if logs.is_empty() {
        out.push("logs:        none".into());
    } else {
        out.push("logs:".into());
        out.extend(logs.iter().map(|l| format!("  {l:?}")));
    }
    let effects = effect_lines(inv);
    if effects.is_empty() {
        out.push("effects:     none".into());
    } else {
        out.push("effects:".into());
        out.extend(effects.iter().map(|l| format!("  {l}")));
    }
    for event in &inv.events {
        out.push(format!(
            "event:       {} {} (from {})",
            key(&event.topic),
            value(&event.data),
            inv.name_of(&event.contract)
        ));
    }
    if let Some(data) = &inv.return_data {
        out.push(format!("return data: {}", value(&data.data)));
    }
    out.push(format!("engines:     {} (agreeing)", engines.join(" and ")));
    out
}

/// The result of checking an invocation: every check with its verdict.
pub struct CheckReport {
    title: String,
    results: Vec<(String, Verdict)>,
    described: Vec<String>,
}

impl CheckReport {
    pub(crate) fn evaluate(inv: &Invocation, checks: &[Check]) -> CheckReport {
        let results = checks
            .iter()
            .map(|check| (check.name(), check.verdict(inv)))
            .collect();
        CheckReport {
            title: format!(
                "invoke of {} with {} input bytes",
                inv.name_of(&inv.contract),
                inv.input.len()
            ),
            results,
            described: describe(inv),
        }
    }

    pub(crate) fn into_result(self) -> Result<(), CheckReport> {
        if self.failed() == 0 {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Number of failed checks.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|(_, v)| !v.ok).count()
    }

    /// Names of the failed checks.
    pub fn failed_checks(&self) -> Vec<String> {
        self.results
            .iter()
            .filter(|(_, v)| !v.ok)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} of {} checks failed for the {}",
            self.failed(),
            self.results.len(),
            self.title
        )?;
        for (name, verdict) in &self.results {
            if verdict.ok {
                writeln!(f, "  ok    {name}")?;
            } else {
                writeln!(f, "  FAIL  {name}")?;
                for line in &verdict.detail {
                    writeln!(f, "          {line}")?;
                }
            }
        }
        writeln!(f, "what the call did:")?;
        for line in &self.described {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Two engines that disagreed on a call: each differing aspect with both values.
#[derive(Debug, Clone)]
pub struct EngineMismatch {
    pub contract: String,
    pub input: Vec<u8>,
    pub engines: (Engine, Engine),
    /// `(aspect, first engine's value, second engine's value)` for each aspect that differs.
    pub differences: Vec<(String, String, String)>,
}

impl EngineMismatch {
    pub(crate) fn compare(
        call: &ContractCall,
        a: &EngineRun,
        b: &EngineRun,
        names: &BTreeMap<Hash, String>,
    ) -> Option<EngineMismatch> {
        let mut differences = Vec::new();
        let mut aspect = |name: &str, x: String, y: String| {
            if x != y {
                differences.push((name.to_string(), x, y));
            }
        };
        aspect("status", a.status.fingerprint(), b.status.fingerprint());
        aspect(
            "compute used",
            a.compute_used.to_string(),
            b.compute_used.to_string(),
        );
        aspect("logs", format!("{:#?}", a.logs), format!("{:#?}", b.logs));
        aspect(
            "journal",
            format!("{:#?}", a.journal),
            format!("{:#?}", b.journal),
        );
        aspect(
            "change set",
            format!("{:#?}", a.changes),
            format!("{:#?}", b.changes),
        );
        aspect(
            "events",
            format!("{:#?}", a.events),
            format!("{:#?}", b.events),
        );
        aspect(
            "return data",
            format!("{:#?}", a.return_data),
            format!("{:#?}", b.return_data),
        );
        aspect(
            "state after",
            format!("{:#?}", a.after),
            format!("{:#?}", b.after),
        );
        (!differences.is_empty()).then(|| EngineMismatch {
            contract: contract_name(names, &call.contract),
            input: call.input.clone(),
            engines: (a.engine, b.engine),
            differences,
        })
    }

    /// The names of the aspects that differ.
    pub fn aspects(&self) -> Vec<&str> {
        self.differences
            .iter()
            .map(|(a, _, _)| a.as_str())
            .collect()
    }
}

impl fmt::Display for EngineMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (first, second) = self.engines;
        writeln!(
            f,
            "{first:?} and {second:?} disagree on a call of {} with input {} ({} bytes):",
            self.contract,
            hex_grouped(&self.input),
            self.input.len()
        )?;
        for (aspect, x, y) in &self.differences {
            writeln!(f, "  {aspect}:")?;
            let xs: Vec<String> = x.lines().map(str::to_string).collect();
            let ys: Vec<String> = y.lines().map(str::to_string).collect();
            if xs.len() <= 1 && ys.len() <= 1 {
                let (a, b) = (format!("{first:?}:"), format!("{second:?}:"));
                let width = a.len().max(b.len());
                writeln!(f, "    {a:width$} {x}")?;
                writeln!(f, "    {b:width$} {y}")?;
            } else {
                writeln!(f, "    --- {first:?}")?;
                writeln!(f, "    +++ {second:?}")?;
                for line in diff_lines(&xs, &ys, false) {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_diff_marks_removed_and_added_lines() {
        let expected = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let actual = vec!["a".to_string(), "x".to_string(), "c".to_string()];
        assert_eq!(
            line_diff(&expected, &actual),
            vec!["  \"a\"", "+ \"x\"", "- \"b\"", "  \"c\""]
        );
    }

    fn run(compute_used: u64, logs: &[&str]) -> EngineRun {
        EngineRun {
            engine: Engine::Interpreter,
            status: crate::Status::Success,
            compute_used,
            logs: logs
                .iter()
                .map(|m| tos_program_runtime::LogEntry {
                    contract: Hash([1; 32]),
                    message: m.to_string(),
                })
                .collect(),
            journal: Vec::new(),
            changes: Default::default(),
            events: Vec::new(),
            return_data: None,
            after: Default::default(),
        }
    }

    #[test]
    fn engine_runs_are_compared_on_every_aspect() {
        let call = ContractCall::new(Hash([1; 32]), vec![]);
        let names = BTreeMap::new();
        assert!(EngineMismatch::compare(&call, &run(5, &["a"]), &run(5, &["a"]), &names).is_none());
        let mut jit = run(6, &["b"]);
        jit.engine = Engine::Jit;
        jit.status = crate::Status::Failed(1);
        let mismatch = EngineMismatch::compare(&call, &run(5, &["a"]), &jit, &names).unwrap();
        assert_eq!(mismatch.aspects(), vec!["status", "compute used", "logs"]);
    }

    #[test]
    fn values_read_as_text_hex_or_u64() {
        assert_eq!(value(b"blue"), "\"blue\"");
        assert_eq!(value(&42u64.to_le_bytes()), "0x2a00000000000000 (u64 42)");
        assert_eq!(value_opt(None), "absent");
        assert_eq!(group(1_400_000), "1 400 000");
        assert_eq!(key(&[0, 1]), "0x0001");
    }
}
