//! Why a command failed, and its exit code: a node operator's script must tell "the contract
//! said no" from "fix the command" from "the store failed".

use std::process::ExitCode;

use tos_vm::{storage::StorageError, VmError};

/// The call ran and the contract failed or was aborted (its status is printed).
pub const EXIT_CALL_FAILED: u8 = 1;
/// The command could not run: bad arguments or files, a refused transaction, a missing or
/// locked store.
pub const EXIT_ERROR: u8 = 2;
/// The store failed under the command (I/O, database, corruption): nothing of the command was
/// committed, and no outcome was printed. Retry, or repair the store.
pub const EXIT_STORE_FAILED: u8 = 3;

/// A failed command: its message (printed as `error: ...`) and whether the store failed.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub store_failed: bool,
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(if self.store_failed {
            EXIT_STORE_FAILED
        } else {
            EXIT_ERROR
        })
    }

    /// The store's error with what the command was doing.
    pub fn store(doing: &str, error: StorageError) -> Failure {
        Failure {
            store_failed: error.is_backend(),
            message: format!("{doing}: {error}"),
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            store_failed: false,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::from(message.to_string())
    }
}

impl From<StorageError> for Failure {
    fn from(error: StorageError) -> Self {
        Failure {
            store_failed: error.is_backend(),
            message: error.to_string(),
        }
    }
}

impl From<VmError> for Failure {
    fn from(error: VmError) -> Self {
        Failure {
            store_failed: error.is_backend(),
            message: error.to_string(),
        }
    }
}
