//! Compute metering: one unit per executed BPF instruction plus each syscall's own cost, plus
//! the code-load charge of every contract code a transaction runs for the first time.
//!
//! ## Code load (cold / warm)
//!
//! Running a contract whose executable is not in this node's cache means reading its ELF from
//! the store, validating, verifying and JIT-compiling it: milliseconds for a large contract,
//! a million instructions' worth of time. Whether a node has it cached is not deterministic
//! (cache size, eviction, restarts), so the charge cannot depend on it. Instead, as EIP-2929
//! does for cold accounts, the first time a transaction runs a code (the top-level call,
//! `tos_invoke`, `tos_create_contract`'s constructor) it pays [`code_load_cost`] of the code's
//! loaded size ([`code_load_size`]: the bytes its loadable segments hold, i.e. the code and
//! read-only data; not the symbol table, whose names carry build-machine hashes), whether or not this node had it cached; later runs of the same code in that
//! transaction are warm and pay nothing for it. The warm set is keyed by code hash (instances
//! of one code share one executable) and is not reverted when a frame fails: the load was done.

use crate::{error::RuntimeError, limits::MAX_COMPUTE_BUDGET};

/// Fixed part of a cold code load (store lookup, ELF header checks, executable setup, cache
/// insertion). Calibrated (docs/compute-units.md, "Calibration", the `tos_invoke, cold callee`
/// rows): loading the smallest code took about 22 µs under the JIT, about 2× the time of 6 000
/// units of plain code.
pub const CODE_LOAD_BASE_COST: u64 = 6_000;
/// Units per loaded byte ([`code_load_size`]) of a cold code load: validation, verification
/// and JIT compilation grow with the code. Calibrated the same way: the slowest code to
/// compile (loads, stores and branches) took about 8.3 ns a byte, about 1.6× the time of 3
/// units of plain code.
pub const CODE_LOAD_UNITS_PER_BYTE: u64 = 3;

/// The charge of a cold code load of `load_size` loaded bytes ([`code_load_size`]; see the
/// module docs).
pub fn code_load_cost(load_size: usize) -> u64 {
    CODE_LOAD_BASE_COST.saturating_add((load_size as u64).saturating_mul(CODE_LOAD_UNITS_PER_BYTE))
}

/// What a cold load of `elf` is charged by: the file bytes of its `PT_LOAD` segments (code and
/// read-only data), which verification and compilation work through. Not the file's length:
/// the symbol table's names carry the hashes of the build machine's paths, and the charge
/// must be the same for the same sources built anywhere. An ELF whose program headers cannot
/// be read (never a deployed one: deploy validates them) is charged by its length.
pub fn code_load_size(elf: &[u8]) -> usize {
    loaded_bytes(elf).unwrap_or(elf.len())
}

fn loaded_bytes(elf: &[u8]) -> Option<usize> {
    loaded_segment_bytes(elf, LoadedSegments::All)
}

/// Which `PT_LOAD` segments [`loaded_segment_bytes`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedSegments {
    /// Code and read-only data.
    All,
    /// Only the executable ones (`PF_X`): the bytecode.
    Executable,
}

/// The file bytes of `elf`'s `PT_LOAD` segments (all, or only the executable ones), read from
/// its program headers without a full parse: what the code-load and deploy charges are sized
/// by. `None` when the header or a program header cannot be read, or the segments claim more
/// bytes than the file has.
pub fn loaded_segment_bytes(elf: &[u8], which: LoadedSegments) -> Option<usize> {
    const PT_LOAD: u32 = 1;
    const PF_X: u32 = 1;
    let u16_at = |at: usize| {
        Some(u16::from_le_bytes(
            elf.get(at..at.checked_add(2)?)?.try_into().ok()?,
        ))
    };
    let u32_at = |at: usize| {
        Some(u32::from_le_bytes(
            elf.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let u64_at = |at: usize| {
        Some(u64::from_le_bytes(
            elf.get(at..at.checked_add(8)?)?.try_into().ok()?,
        ))
    };
    // ELF64 little-endian header: e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38; in a
    // program header p_type at 0, p_flags at 4, p_filesz at 0x20.
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    let mut total: usize = 0;
    for index in 0..phnum {
        let header = phoff.checked_add(index.checked_mul(phentsize)?)?;
        let counted = u32_at(header)? == PT_LOAD
            && (which == LoadedSegments::All || u32_at(header.checked_add(4)?)? & PF_X != 0);
        if counted {
            let filesz = usize::try_from(u64_at(header.checked_add(0x20)?)?).ok()?;
            total = total.checked_add(filesz)?;
        }
    }
    (total <= elf.len()).then_some(total)
}

/// Remaining compute of one invoke. solana-sbpf charges executed instructions through
/// `ContextObject::consume`; syscalls charge their cost with [`ComputeMeter::charge`].
#[derive(Debug, Clone, Copy)]
pub struct ComputeMeter {
    budget: u64,
    remaining: u64,
}

impl ComputeMeter {
    /// A meter of `budget` units, at most [`MAX_COMPUTE_BUDGET`] (larger budgets are lowered to
    /// it, the same way for both engines).
    pub fn new(budget: u64) -> Self {
        let budget = budget.min(MAX_COMPUTE_BUDGET);
        ComputeMeter {
            budget,
            remaining: budget,
        }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    pub fn used(&self) -> u64 {
        self.budget - self.remaining
    }

    /// Charges `amount` units, or fails (charging everything left) when the budget is short:
    /// a syscall that cannot be paid for does not run.
    pub fn charge(&mut self, amount: u64) -> Result<(), RuntimeError> {
        match self.remaining.checked_sub(amount) {
            Some(left) => {
                self.remaining = left;
                Ok(())
            }
            None => {
                self.remaining = 0;
                Err(RuntimeError::ComputeBudgetExceeded {
                    budget: self.budget,
                })
            }
        }
    }

    /// Instruction metering from the engine: saturates, the engine itself reports exhaustion.
    pub fn consume(&mut self, amount: u64) {
        self.remaining = self.remaining.saturating_sub(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_beyond_budget_fails_and_empties_the_meter() {
        let mut meter = ComputeMeter::new(10);
        meter.charge(4).unwrap();
        assert_eq!(meter.remaining(), 6);
        assert!(matches!(
            meter.charge(7),
            Err(RuntimeError::ComputeBudgetExceeded { budget: 10 })
        ));
        assert_eq!(meter.remaining(), 0);
        assert_eq!(meter.used(), 10);
    }

    #[test]
    fn budgets_past_the_maximum_are_lowered_to_it() {
        assert_eq!(ComputeMeter::new(u64::MAX).budget(), MAX_COMPUTE_BUDGET);
        assert_eq!(
            ComputeMeter::new(MAX_COMPUTE_BUDGET).budget(),
            MAX_COMPUTE_BUDGET
        );
        assert_eq!(ComputeMeter::new(5).budget(), 5);
    }

    #[test]
    fn consume_saturates() {
        let mut meter = ComputeMeter::new(3);
        meter.consume(5);
        assert_eq!(meter.remaining(), 0);
    }

    #[test]
    fn program_headers_near_the_end_of_the_address_space_are_unreadable_not_a_panic() {
        // A hostile ELF header whose e_phoff points a few bytes below usize::MAX: reading a
        // program header there must not overflow (the fuzzer found this).
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&(u64::MAX - 1).to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(loaded_segment_bytes(&elf, LoadedSegments::All), None);
        assert_eq!(loaded_segment_bytes(&elf, LoadedSegments::Executable), None);
        assert_eq!(code_load_size(&elf), elf.len());
    }
}
