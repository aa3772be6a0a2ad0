//! The one error type of this crate.

use std::fmt;

/// Where in the input (or in a finished executable) something went wrong.
///
/// `offset` is a byte offset inside `section`; `function` is the function symbol that covers the
/// offset, with the offset relative to the function's start, when one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Object file name as given to [`crate::link`], or `<executable>` for [`crate::validate_executable`].
    pub object: String,
    /// Section name (`.text` for a finished executable).
    pub section: String,
    /// Byte offset inside the section.
    pub offset: u64,
    /// Enclosing function and the byte offset inside it, if a symbol covers the offset.
    pub function: Option<(String, u64)>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` section `{}` offset {:#x}",
            self.object, self.section, self.offset
        )?;
        if let Some((name, off)) = &self.function {
            write!(f, " (function `{name}`+{off:#x})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong while linking objects or validating an executable.
///
/// Every variant names the object, section, symbol or instruction it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoaderError {
    /// `link` was called with an empty object list.
    #[error("no object files to link")]
    NoObjects,

    /// The bytes do not start with an ELF header.
    #[error("`{object}` is not an ELF file: {reason}")]
    NotElf {
        /// Object name.
        object: String,
        /// What is wrong with the header.
        reason: String,
    },

    /// ELF class other than ELFCLASS64.
    #[error("`{object}`: ELF class {class} is not supported (expected ELFCLASS64 = 2)")]
    WrongClass {
        /// Object name.
        object: String,
        /// `e_ident[EI_CLASS]`.
        class: u8,
    },

    /// Big-endian (or invalid) data encoding.
    #[error("`{object}`: ELF data encoding {data} is not supported (expected little-endian = 1)")]
    WrongEndianness {
        /// Object name.
        object: String,
        /// `e_ident[EI_DATA]`.
        data: u8,
    },

    /// `e_machine` is not EM_BPF.
    #[error("`{object}`: machine {machine} is not BPF (EM_BPF = 247)")]
    WrongMachine {
        /// Object name.
        object: String,
        /// `e_machine`.
        machine: u16,
    },

    /// The input is not a relocatable object.
    #[error("`{object}`: ELF type {e_type} is not a relocatable object (ET_REL = 1); link takes `clang -c` output")]
    NotRelocatable {
        /// Object name.
        object: String,
        /// `e_type`.
        e_type: u16,
    },

    /// Structural damage: truncated headers, sections past the end of the file, bad indexes.
    #[error("`{object}`: malformed ELF: {what}")]
    Malformed {
        /// Object name.
        object: String,
        /// Description naming the section / symbol / index.
        what: String,
    },

    /// A section of a kind the link step cannot handle (e.g. RELA relocations on code).
    #[error("`{object}` section `{section}`: {what}")]
    UnsupportedSection {
        /// Object name.
        object: String,
        /// Section name.
        section: String,
        /// What is not supported.
        what: String,
    },

    /// Writable global data (`.data`, `.bss`, common symbols, ...): the VM has none.
    #[error(
        "`{object}` section `{section}`{}: writable global data is not supported \
         (SBPF has no writable data segment); make the global `const` or keep the state on the stack",
        symbol.as_ref().map(|s| format!(" (symbol `{s}`)")).unwrap_or_default()
    )]
    WritableData {
        /// Object name.
        object: String,
        /// Section name (or `COMMON` for common symbols).
        section: String,
        /// A symbol defined in the section, if there is one.
        symbol: Option<String>,
    },

    /// The same global symbol is defined twice.
    #[error("duplicate global symbol `{symbol}`: defined in `{first}` and in `{second}`")]
    DuplicateSymbol {
        /// Symbol name.
        symbol: String,
        /// Object of the first definition.
        first: String,
        /// Object of the second definition.
        second: String,
    },

    /// The entry symbol is not defined by any object.
    #[error("entry symbol `{symbol}` is not defined (it must be a global function)")]
    MissingEntry {
        /// Entry symbol name.
        symbol: String,
    },

    /// The entry symbol is defined but not in code.
    #[error("entry symbol `{symbol}` (in `{object}` section `{section}`) is not in an executable section")]
    EntryNotCode {
        /// Entry symbol name.
        symbol: String,
        /// Defining object.
        object: String,
        /// Defining section.
        section: String,
    },

    /// A relocation needs the address of a symbol no object defines.
    #[error("{at}: undefined symbol `{symbol}`")]
    UndefinedSymbol {
        /// Where the relocation is.
        at: Box<Location>,
        /// Symbol name.
        symbol: String,
    },

    /// A call to an undefined function that is not in the allowed syscall list.
    #[error("{at}: call to unknown syscall `{symbol}`: {hint}")]
    UnknownSyscall {
        /// Where the call is.
        at: Box<Location>,
        /// Called name.
        symbol: String,
        /// Explanation (lists nothing secret; e.g. memcpy advice).
        hint: String,
    },

    /// A relocation type the link step does not implement.
    #[error("{at}: unsupported relocation type {r_type} ({name}) against `{symbol}`")]
    UnsupportedRelocation {
        /// Where the relocation is.
        at: Box<Location>,
        /// ELF relocation type number.
        r_type: u32,
        /// Its name, as far as known.
        name: String,
        /// Symbol the relocation refers to.
        symbol: String,
    },

    /// A relocation whose place or value does not fit.
    #[error("{at}: relocation against `{symbol}` out of range: {reason}")]
    RelocationOutOfRange {
        /// Where the relocation is.
        at: Box<Location>,
        /// Symbol name.
        symbol: String,
        /// What does not fit.
        reason: String,
    },

    /// A relocation on an instruction it cannot apply to.
    #[error("{at}: relocation {name} against `{symbol}` expects {expected}, found {found}")]
    RelocationAtWrongInstruction {
        /// Where the relocation is.
        at: Box<Location>,
        /// Relocation type name.
        name: String,
        /// Symbol name.
        symbol: String,
        /// Expected instruction.
        expected: String,
        /// What is there instead.
        found: String,
    },

    /// An instruction SBPF does not have, or runs with a different meaning than eBPF/clang expect.
    #[error("{at}: instruction `{mnemonic}` refused: {reason}")]
    UnsupportedInstruction {
        /// Where the instruction is.
        at: Box<Location>,
        /// Mnemonic (as clang / llvm-objdump would print it).
        mnemonic: String,
        /// Why it is refused.
        reason: String,
    },

    /// An internal call (`call` with src=1) whose target is not an instruction of the program.
    #[error("{at}: call target pc {target} is not a valid instruction start (program has {count} slots)")]
    InvalidCallTarget {
        /// Where the call is.
        at: Box<Location>,
        /// Target pc.
        target: i64,
        /// Program size in 8-byte slots.
        count: usize,
    },

    /// A `call src=0` whose immediate is not the hash of an allowed syscall.
    #[error("{at}: syscall hash {hash:#010x} is not one of the allowed syscalls")]
    UnknownSyscallHash {
        /// Where the call is.
        at: Box<Location>,
        /// The immediate.
        hash: u32,
    },

    /// Two allowed syscall names hash to the same value.
    #[error("syscall names `{first}` and `{second}` have the same hash {hash:#010x}")]
    SyscallHashCollision {
        /// First name.
        first: String,
        /// Second name.
        second: String,
        /// Common hash.
        hash: u32,
    },

    /// solana-sbpf's own verifier refused the program.
    #[error("{at}: solana-sbpf verifier ({verifier}): {message}")]
    Verifier {
        /// Instruction the verifier points at (offset 0 if it names none).
        at: Box<Location>,
        /// `RequisiteVerifier` or `LocalVerifier`.
        verifier: String,
        /// The verifier's message.
        message: String,
    },

    /// The program has no instructions.
    #[error("the program has no instructions")]
    EmptyProgram,

    /// More instruction slots than [`crate::MAX_INSTRUCTIONS`].
    #[error("program has {count} instruction slots, the limit is {max}")]
    TooManyInstructions {
        /// Slots (8 bytes each; `lddw` takes two).
        count: usize,
        /// Limit.
        max: usize,
    },

    /// Executable larger than [`crate::MAX_ELF_SIZE`].
    #[error("executable is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// Limit.
        max: usize,
    },

    /// `e_flags` of an executable does not select SBPF V3.
    #[error("executable has e_flags {e_flags}, only SBPF V3 (e_flags = 3) is accepted")]
    WrongSbpfVersion {
        /// `e_flags`.
        e_flags: u32,
    },

    /// A finished executable breaks the strict V3 layout.
    #[error("invalid executable: {what}")]
    InvalidExecutable {
        /// Which rule is broken.
        what: String,
    },

    /// The `.tos.interface` section does not hold a valid interface description
    /// (docs/interface.md): too large, not JSON, a bad name, a selector that does not match
    /// its method, ... The inner error names the problem.
    #[error("invalid contract interface (section `.tos.interface`): {0}")]
    InvalidInterface(Box<tos_abi::interface::InterfaceError>),

    /// The `.tos.interface` section itself is misplaced: loadable or executable, of the wrong
    /// type, given twice, outside the file, or referred to by code.
    #[error("`{object}`: interface section `.tos.interface`: {what}")]
    InterfaceSection {
        /// Object name, or `<executable>` / the interface file's name.
        object: String,
        /// What is wrong.
        what: String,
    },

    /// solana-sbpf's `Executable::load` refused the executable.
    #[error("solana-sbpf refused to load the executable: {message}")]
    SbpfLoad {
        /// The loader's message.
        message: String,
    },
}

impl From<tos_abi::interface::InterfaceError> for LoaderError {
    fn from(e: tos_abi::interface::InterfaceError) -> Self {
        LoaderError::InvalidInterface(Box::new(e))
    }
}

impl LoaderError {
    pub(crate) fn malformed(object: &str, what: impl Into<String>) -> Self {
        LoaderError::Malformed {
            object: object.to_string(),
            what: what.into(),
        }
    }

    pub(crate) fn interface_section(object: &str, what: impl Into<String>) -> Self {
        LoaderError::InterfaceSection {
            object: object.to_string(),
            what: what.into(),
        }
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        LoaderError::InvalidExecutable { what: what.into() }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_stays_small() {
        // Below clippy's `result_large_err` threshold, so callers need no allow.
        assert!(std::mem::size_of::<super::LoaderError>() <= 128);
    }
}
