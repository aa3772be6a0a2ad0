//! The shared output layer: every line to stdout goes through [`out!`], which survives a
//! reader that went away; value formats shared by the commands' text and JSON forms.

use serde_json::json;
use tos_vm::NATIVE_ASSET;

/// Prints a line to stdout. A reader that went away (`tos-vm invoke ... | head -1`) or any
/// other write failure must not turn a committed call into a crash: the rest of the output is
/// dropped and the exit code stays the command's own.
macro_rules! out {
    () => {
        $crate::output::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::print_line(format_args!($($arg)*))
    };
}

/// Whether stdout failed once: later lines are not attempted.
pub static STDOUT_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn print_line(line: std::fmt::Arguments<'_>) {
    use std::{io::Write, sync::atomic::Ordering};
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(error) = written {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: output lost: {error}");
        }
    }
}

/// Deposits as JSON: asset (hex) → amount.
pub fn deposits_json(deposits: &tos_vm::Deposits) -> serde_json::Value {
    deposits
        .iter()
        .map(|(asset, amount)| (asset.to_hex(), json!(amount)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Deposits for the table: the native amount, plus how many other assets.
pub fn deposit_text(deposits: &tos_vm::Deposits) -> String {
    let native = deposits.get(&NATIVE_ASSET).copied().unwrap_or(0);
    match deposits.len() - usize::from(deposits.contains_key(&NATIVE_ASSET)) {
        0 => native.to_string(),
        others => format!("{native}+{others}a"),
    }
}

/// What a contract's non-zero status means: the SDK's error name (`Unauthorized`,
/// `Custom(3)`) when the code is one of its codes, else the bare status.
pub fn failure_name(code: u64) -> String {
    match tos_sdk::ContractError::from_code(code) {
        Some(tos_sdk::ContractError::Custom(n)) => format!("Custom({n})"),
        Some(error) => error.name().to_owned(),
        None => format!("status {code}"),
    }
}

/// Hex bytes shown as a quoted string when they are printable ASCII, else as hex.
pub fn readable(hex_text: &str) -> String {
    match hex::decode(hex_text) {
        Ok(bytes)
            if !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') =>
        {
            format!("{:?}", String::from_utf8_lossy(&bytes))
        }
        _ => format!("0x{hex_text}"),
    }
}

/// State growth as JSON: totals, then per contract (hex address), balances and code, each as
/// `{created_bytes, freed_bytes}`.
pub fn growth_json(growth: &tos_vm::StateGrowth) -> serde_json::Value {
    let part = |g: &tos_vm::Growth| json!({"created_bytes": g.created_bytes, "freed_bytes": g.freed_bytes});
    json!({
        "created_bytes": growth.created_bytes(),
        "freed_bytes": growth.freed_bytes(),
        "contracts": growth
            .contracts
            .iter()
            .map(|(contract, g)| (contract.to_hex(), part(g)))
            .collect::<serde_json::Map<_, _>>(),
        "balances": part(&growth.balances),
        "code": part(&growth.code),
    })
}

/// State growth for people: `+created -freed bytes`, then one line per part that changed.
pub fn print_growth(growth: &tos_vm::StateGrowth) {
    out!(
        "state     +{} -{} bytes",
        growth.created_bytes(),
        growth.freed_bytes()
    );
    let line = |what: &str, g: &tos_vm::Growth| {
        if !g.is_empty() {
            out!("  {what}  +{} -{}", g.created_bytes, g.freed_bytes);
        }
    };
    for (contract, g) in &growth.contracts {
        line(&contract.to_hex(), g);
    }
    line("balances", &growth.balances);
    line("code", &growth.code);
}
