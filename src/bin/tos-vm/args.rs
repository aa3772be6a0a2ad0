//! Arguments and input files shared by several commands: hashes, assets, deposits, executables.

use std::path::Path;

use tos_vm::{Hash, NATIVE_ASSET};

/// Reads an executable: at most `MAX_CODE_LEN + 1` bytes, so a huge or endless file
/// (`/dev/zero`) is refused at once.
pub fn read_code_file(path: &Path) -> Result<Vec<u8>, String> {
    tos_vm::read_file_within(path, tos_vm::MAX_CODE_LEN)
        .map_err(|e| format!("reading {}: {e}", path.display()))?
        .ok_or_else(|| {
            format!(
                "{} is larger than an executable may be ({} bytes)",
                path.display(),
                tos_vm::MAX_CODE_LEN
            )
        })
}

pub fn parse_hash(text: &str, what: &str) -> Result<Hash, String> {
    Hash::from_hex(text).ok_or_else(|| format!("{what} must be 64 hex digits, got `{text}`"))
}

/// `--asset HASH`, or the native asset.
pub fn parse_asset(asset: Option<&str>) -> Result<Hash, String> {
    asset.map_or(Ok(NATIVE_ASSET), |text| parse_hash(text, "--asset"))
}

/// `--value` and every `--deposit ASSET:AMOUNT`, checked: one entry per asset, at most 255,
/// no amount of 0.
pub fn parse_deposits(value: u64, deposits: &[String]) -> Result<tos_vm::Deposits, String> {
    let mut parsed = tos_vm::native_deposit(value);
    for text in deposits {
        let (asset, amount) = text
            .split_once(':')
            .ok_or_else(|| format!("--deposit must be ASSET:AMOUNT, got `{text}`"))?;
        let asset = parse_hash(asset, "a --deposit asset")?;
        let amount: u64 = amount
            .parse()
            .map_err(|e| format!("--deposit amount `{amount}`: {e}"))?;
        if parsed.insert(asset, amount).is_some() {
            return Err(format!(
                "asset {asset} is deposited twice (--value is the native asset)"
            ));
        }
    }
    tos_vm::runtime::check_deposits(&parsed).map_err(|e| e.to_string())?;
    Ok(parsed)
}
