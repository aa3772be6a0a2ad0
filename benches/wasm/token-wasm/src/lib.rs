//! The `examples/token` contract as a WebAssembly module: the very same Rust source (token
//! logic, tos-sdk wrappers, borsh) compiled for `wasm32-unknown-unknown`. The SDK's `tos_*`
//! syscalls become imports from module `env`; benches/token.rs implements them on the host
//! (wasmi) over an in-memory store with a journal, the way tos-vm runs the BPF build.
//!
//! ABI of the module: the host writes the instruction into the buffer at `input_ptr()`
//! (at most `INPUT_CAPACITY` bytes) and calls `call(len)`, which returns the contract's status
//! (0 = success). Every call starts with an empty heap, as in tos-vm.

#![no_std]
// The token's crate-level `#![cfg_attr(not(test), no_std)]` is inert inside a module.
#![allow(unused_attributes)]

extern crate alloc;

/// `examples/token/src/lib.rs`, unchanged. (Depending on the `token` crate instead would also
/// build its `staticlib`, which needs the BPF-only allocator and panic handler.)
///
/// The file declares its contract as `pub mod token` and re-exports it from the crate root
/// (`pub use crate::token::*`), so it is included as `contract` and its `token` module is put
/// at this crate's root, where that path expects it.
#[path = "../../../../examples/token/src/lib.rs"]
pub mod contract;
pub use contract::token;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

/// Largest instruction the host may pass.
pub const INPUT_CAPACITY: usize = 4096;
/// The heap of one call (tos-vm gives contracts 32 KiB).
const HEAP_LEN: usize = 32 * 1024;

struct Arena<const N: usize>(UnsafeCell<[u8; N]>);
// SAFETY: a wasm32-unknown-unknown module has one thread.
unsafe impl<const N: usize> Sync for Arena<N> {}

static INPUT: Arena<INPUT_CAPACITY> = Arena(UnsafeCell::new([0; INPUT_CAPACITY]));
static HEAP: Arena<HEAP_LEN> = Arena(UnsafeCell::new([0; HEAP_LEN]));
static NEXT: Arena<8> = Arena(UnsafeCell::new([0; 8]));

fn cursor() -> *mut usize {
    NEXT.0.get().cast()
}

/// A bump allocator over `HEAP`, reset at the start of every call (like tos-sdk's on BPF).
struct Bump;

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = HEAP.0.get() as usize;
        let start = (base + *cursor() + layout.align() - 1) & !(layout.align() - 1);
        let end = start + layout.size();
        if end > base + HEAP_LEN {
            return core::ptr::null_mut();
        }
        *cursor() = end - base;
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// Where the host writes the instruction.
#[unsafe(no_mangle)]
pub extern "C" fn input_ptr() -> *mut u8 {
    INPUT.0.get().cast()
}

/// Runs the token on the first `len` bytes of the input buffer; returns its status.
#[unsafe(no_mangle)]
pub extern "C" fn call(len: u32) -> u64 {
    let len = (len as usize).min(INPUT_CAPACITY);
    // SAFETY: one thread; the host does not touch the buffer during the call.
    unsafe {
        *cursor() = 0;
        let input = core::slice::from_raw_parts(input_ptr(), len);
        token::entrypoint(input)
    }
}
