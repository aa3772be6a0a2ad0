//! [`ContractError`]: why a contract call failed, as a stable numeric status.

use core::fmt;

/// Why a contract call failed. The entry point returns [`ContractError::code`] as the call's
/// status, which the VM reports (`InvokeStatus::Failed { code }`) and the chain records; the
/// codes below never change meaning.
///
/// | code | error |
/// |---|---|
/// | 1 | [`InvalidInput`](ContractError::InvalidInput) |
/// | 2 | [`InvalidInstruction`](ContractError::InvalidInstruction) |
/// | 3 | [`Unauthorized`](ContractError::Unauthorized) |
/// | 4 | [`InsufficientFunds`](ContractError::InsufficientFunds) |
/// | 5 | [`ArithmeticOverflow`](ContractError::ArithmeticOverflow) |
/// | 6 | [`NotFound`](ContractError::NotFound) |
/// | 7 | [`AlreadyInitialized`](ContractError::AlreadyInitialized) |
/// | 8 | [`NotInitialized`](ContractError::NotInitialized) |
/// | 9 | [`InvalidState`](ContractError::InvalidState) |
/// | 10 | [`KeyTooLong`](ContractError::KeyTooLong) |
/// | 11 | [`ValueTooLarge`](ContractError::ValueTooLarge) |
/// | 12 | [`CallFailed`](ContractError::CallFailed) |
/// | 1000 + n | [`Custom(n)`](ContractError::Custom) |
///
/// A contract's own errors map into `Custom`:
///
/// ```
/// use tos_sdk::ContractError;
///
/// enum VaultError { Locked = 1, TooEarly = 2 }
/// impl From<VaultError> for ContractError {
///     fn from(e: VaultError) -> Self { ContractError::Custom(e as u32) }
/// }
/// assert_eq!(ContractError::from(VaultError::TooEarly).code(), 1002);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
// The discriminants are the codes, so `code` reads the tag instead of matching twelve arms.
#[repr(u32)]
pub enum ContractError {
    /// The call's input could not be decoded.
    InvalidInput = 1,
    /// The input decoded to an instruction the contract does not know.
    InvalidInstruction = 2,
    /// The caller may not do this.
    Unauthorized = 3,
    /// A balance is lower than the amount asked for.
    InsufficientFunds = 4,
    /// An arithmetic result does not fit its type.
    ArithmeticOverflow = 5,
    /// Something the call needs is absent.
    NotFound = 6,
    /// Initialisation was asked for twice.
    AlreadyInitialized = 7,
    /// The contract has not been initialised.
    NotInitialized = 8,
    /// A stored value could not be decoded as the type expected.
    InvalidState = 9,
    /// A storage key is longer than [`crate::storage::MAX_KEY_LEN`].
    KeyTooLong = 10,
    /// A storage value is larger than [`crate::storage::MAX_VALUE_LEN`].
    ValueTooLarge = 11,
    /// A call to another contract failed (see [`crate::call::invoke`]).
    CallFailed = 12,
    /// A contract-defined error; its code is [`ContractError::CUSTOM_BASE`] + n.
    Custom(u32) = 1000,
}

impl ContractError {
    /// Codes of [`ContractError::Custom`] start here.
    pub const CUSTOM_BASE: u64 = 1000;

    /// The stable status code (never 0).
    pub const fn code(self) -> u64 {
        match self {
            ContractError::Custom(n) => Self::CUSTOM_BASE + n as u64,
            // SAFETY: a `repr(u32)` enum starts with its `u32` discriminant, which for these
            // variants is the code.
            other => unsafe { *(&other as *const ContractError).cast::<u32>() as u64 },
        }
    }

    /// The error a status code stands for; `None` for 0 (success) and unassigned codes.
    pub const fn from_code(code: u64) -> Option<ContractError> {
        Some(match code {
            1 => ContractError::InvalidInput,
            2 => ContractError::InvalidInstruction,
            3 => ContractError::Unauthorized,
            4 => ContractError::InsufficientFunds,
            5 => ContractError::ArithmeticOverflow,
            6 => ContractError::NotFound,
            7 => ContractError::AlreadyInitialized,
            8 => ContractError::NotInitialized,
            9 => ContractError::InvalidState,
            10 => ContractError::KeyTooLong,
            11 => ContractError::ValueTooLarge,
            12 => ContractError::CallFailed,
            c if c >= Self::CUSTOM_BASE && c - Self::CUSTOM_BASE <= u32::MAX as u64 => {
                ContractError::Custom((c - Self::CUSTOM_BASE) as u32)
            }
            _ => return None,
        })
    }

    /// A short name (`"Unauthorized"`, `"Custom"`), for logs.
    pub const fn name(self) -> &'static str {
        match self {
            ContractError::InvalidInput => "InvalidInput",
            ContractError::InvalidInstruction => "InvalidInstruction",
            ContractError::Unauthorized => "Unauthorized",
            ContractError::InsufficientFunds => "InsufficientFunds",
            ContractError::ArithmeticOverflow => "ArithmeticOverflow",
            ContractError::NotFound => "NotFound",
            ContractError::AlreadyInitialized => "AlreadyInitialized",
            ContractError::NotInitialized => "NotInitialized",
            ContractError::InvalidState => "InvalidState",
            ContractError::KeyTooLong => "KeyTooLong",
            ContractError::ValueTooLarge => "ValueTooLarge",
            ContractError::CallFailed => "CallFailed",
            ContractError::Custom(_) => "Custom",
        }
    }
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContractError::Custom(n) => write!(f, "Custom({n}) (code {})", self.code()),
            other => write!(f, "{} (code {})", other.name(), other.code()),
        }
    }
}

/// Decoding errors of borsh (the input, usually) are [`ContractError::InvalidInput`], so
/// `borsh::from_slice(input)?` works in a `process` function.
impl From<borsh::io::Error> for ContractError {
    fn from(_: borsh::io::Error) -> Self {
        ContractError::InvalidInput
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_never_zero() {
        let all = [
            ContractError::InvalidInput,
            ContractError::InvalidInstruction,
            ContractError::Unauthorized,
            ContractError::InsufficientFunds,
            ContractError::ArithmeticOverflow,
            ContractError::NotFound,
            ContractError::AlreadyInitialized,
            ContractError::NotInitialized,
            ContractError::InvalidState,
            ContractError::KeyTooLong,
            ContractError::ValueTooLarge,
            ContractError::CallFailed,
            ContractError::Custom(0),
            ContractError::Custom(7),
            ContractError::Custom(u32::MAX),
        ];
        for (i, e) in all.iter().enumerate() {
            assert_ne!(e.code(), 0);
            assert_eq!(ContractError::from_code(e.code()), Some(*e));
            if i < 12 {
                assert_eq!(e.code(), i as u64 + 1, "{e}");
            }
        }
        assert_eq!(ContractError::Custom(7).code(), 1007);
        assert_eq!(ContractError::from_code(0), None);
        assert_eq!(ContractError::from_code(13), None);
        assert_eq!(ContractError::from_code(1000 + u32::MAX as u64 + 1), None);
        assert_eq!(
            ContractError::Unauthorized.to_string(),
            "Unauthorized (code 3)"
        );
    }
}
