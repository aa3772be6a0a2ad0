//! Why the VM stopped a contract, with the syscall layer's typed errors recovered.
//!
//! The runtime carries a syscall's failure as a boxed error (it sits below `tos-syscalls`);
//! [`Abort::from_runtime`] downcasts it back to [`SyscallError`] the way the facade's `VmError`
//! does, so tests can `matches!` on typed variants or compare [`Abort::kind`] by name.

use std::fmt;

use tos_program_runtime::RuntimeError;
use tos_syscalls::SyscallError;

/// A call the VM aborted: a runtime fault or a syscall that refused its arguments.
#[derive(Debug)]
pub enum Abort {
    /// Faults, compute exhaustion, call depth, a refused call value, ...
    /// (`SyscallError::Runtime` is unwrapped into this variant: a bad pointer given to a
    /// syscall is an access violation like any other).
    Runtime(RuntimeError),
    /// A syscall refused its arguments or the state refused the operation.
    Syscall(SyscallError),
}

impl Abort {
    /// Classifies a runtime error, recovering the syscall layer's typed error.
    pub fn from_runtime(error: RuntimeError) -> Abort {
        match error {
            RuntimeError::Syscall(inner) => match inner.downcast::<SyscallError>() {
                Ok(syscall) => match *syscall {
                    SyscallError::Runtime(runtime) => Abort::from_runtime(runtime),
                    other => Abort::Syscall(other),
                },
                Err(other) => Abort::Runtime(RuntimeError::Fault(other.to_string())),
            },
            other => Abort::Runtime(other),
        }
    }

    /// The name of the innermost error variant: `"AccessViolation"`, `"ComputeBudgetExceeded"`,
    /// `"KeyTooLong"`, `"InsufficientBalance"` (wrappers such as `Storage(..)` are looked
    /// through). What [`Check::abort`](crate::Check::abort) compares.
    pub fn kind(&self) -> String {
        let debug = match self {
            Abort::Runtime(error) => format!("{error:?}"),
            Abort::Syscall(error) => format!("{error:?}"),
        };
        variant_name(&debug)
    }

    pub fn runtime(&self) -> Option<&RuntimeError> {
        match self {
            Abort::Runtime(error) => Some(error),
            Abort::Syscall(_) => None,
        }
    }

    pub fn syscall(&self) -> Option<&SyscallError> {
        match self {
            Abort::Syscall(error) => Some(error),
            Abort::Runtime(_) => None,
        }
    }

    /// A full, comparable description (variant and every field): what the two engines must
    /// agree on.
    pub fn fingerprint(&self) -> String {
        format!("{self:?}")
    }
}

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Abort::Runtime(error) => write!(f, "{} ({error})", self.kind()),
            Abort::Syscall(error) => write!(f, "{} ({error})", self.kind()),
        }
    }
}

/// `Storage(InsufficientBalance { .. })` → `InsufficientBalance`.
fn variant_name(debug: &str) -> String {
    const WRAPPERS: [&str; 4] = ["Storage", "State", "Runtime", "Syscall"];
    let mut rest = debug;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = &rest[name.len()..];
        if WRAPPERS.contains(&name.as_str()) && after.starts_with('(') {
            rest = &after[1..];
            continue;
        }
        return name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_look_through_wrappers() {
        assert_eq!(variant_name("AccessViolation(\"x\")"), "AccessViolation");
        assert_eq!(
            variant_name("Storage(InsufficientBalance { account: Hash(00) })"),
            "InsufficientBalance"
        );
        assert_eq!(variant_name("State(ZeroAmount)"), "ZeroAmount");
        assert_eq!(variant_name("CopyOverlapping"), "CopyOverlapping");
        let abort = Abort::from_runtime(RuntimeError::Syscall(Box::new(SyscallError::Runtime(
            RuntimeError::ComputeBudgetExceeded { budget: 5 },
        ))));
        assert!(matches!(
            abort,
            Abort::Runtime(RuntimeError::ComputeBudgetExceeded { budget: 5 })
        ));
        assert_eq!(abort.kind(), "ComputeBudgetExceeded");
    }
}
