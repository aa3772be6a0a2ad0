//! Heap allocators for contracts that use `alloc` (`Vec`, `String`, `Box`, borsh's owned
//! types). [`entrypoint!`](crate::entrypoint) installs [`BumpAllocator`] unless told otherwise.
//!
//! The VM gives every call a zeroed heap region of [`HEAP_LEN`] bytes at [`HEAP_START`]. There
//! is no writable global data in a contract, so the allocator keeps its state in the heap
//! itself: the first 8 bytes hold the bump cursor (0, as the VM leaves them, means "nothing
//! allocated yet"). Allocations never cross the end of the region: past it, allocation fails
//! and the contract panics (`alloc::alloc::handle_alloc_error`).

use core::alloc::{GlobalAlloc, Layout};

/// Start of the heap region (`MM_HEAP_START` of the VM: `3 << 32`).
pub const HEAP_START: usize = 0x3_0000_0000;
/// Size of the heap region (the VM's `HEAP_SIZE`: 32 KiB).
pub const HEAP_LEN: usize = tos_abi::limits::HEAP_SIZE;
/// Bytes at the start of the region the allocator keeps for its cursor.
pub const HEADER_LEN: usize = 8;

/// A bump allocator over one memory region: allocation moves a cursor up; freeing gives
/// memory back only when it is the most recent allocation (so a growing `Vec` reallocates in
/// place when nothing was allocated after it). Everything is freed at the end of the call.
pub struct BumpAllocator {
    start: usize,
    len: usize,
}

impl BumpAllocator {
    /// The allocator over the VM's heap region.
    pub const fn new() -> Self {
        BumpAllocator {
            start: HEAP_START,
            len: HEAP_LEN,
        }
    }

    /// An allocator over `len` bytes at `start`.
    ///
    /// # Safety
    /// The region must be valid for reads and writes, 8-byte aligned, used by nothing else,
    /// and its first 8 bytes must be zero before the first allocation.
    pub const unsafe fn with_region(start: usize, len: usize) -> Self {
        BumpAllocator { start, len }
    }

    fn cursor_slot(&self) -> *mut usize {
        self.start as *mut usize
    }

    /// The address the next allocation starts from.
    fn cursor(&self) -> usize {
        // SAFETY: the first 8 bytes of the region belong to the allocator (see `with_region`).
        let cursor = unsafe { self.cursor_slot().read_volatile() };
        if cursor == 0 {
            self.start + HEADER_LEN
        } else {
            cursor
        }
    }

    fn set_cursor(&self, cursor: usize) {
        // SAFETY: as in `cursor`.
        unsafe { self.cursor_slot().write_volatile(cursor) }
    }

    fn end(&self) -> usize {
        self.start + self.len
    }

    /// Bytes still free (ignoring alignment).
    pub fn remaining(&self) -> usize {
        self.end().saturating_sub(self.cursor())
    }
}

impl Default for BumpAllocator {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: `alloc` returns null or a block of `layout.size()` bytes aligned to
// `layout.align()` inside the region, never handed out twice while live (the cursor only moves
// below a block when that block is freed or shrunk in place).
unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align();
        let Some(start) = self
            .cursor()
            .checked_add(align - 1)
            .map(|c| c & !(align - 1))
        else {
            return core::ptr::null_mut();
        };
        match start.checked_add(layout.size()) {
            Some(end) if end <= self.end() => {
                self.set_cursor(end);
                start as *mut u8
            }
            _ => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Only the most recent block can be given back.
        if ptr as usize + layout.size() == self.cursor() {
            self.set_cursor(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let block = ptr as usize;
        if block + layout.size() == self.cursor() {
            // The most recent block grows or shrinks in place.
            return match block.checked_add(new_size) {
                Some(end) if end <= self.end() => {
                    self.set_cursor(end);
                    ptr
                }
                _ => core::ptr::null_mut(),
            };
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the layout is valid (same alignment, size checked by the caller).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: forwarded to our own `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for `layout.size()` bytes and do not overlap (the
            // new one lies above the cursor the old one was below).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

/// An allocator that refuses every allocation: a contract built with
/// `entrypoint!(process, no_allocator)` panics (`handle_alloc_error`) if anything
/// allocates.
pub struct NoAllocator;

// SAFETY: never hands out memory.
unsafe impl GlobalAlloc for NoAllocator {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(align(8))]
    struct Region([u8; 256]);

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn bump_allocates_aligned_and_bounded() {
        let mut region = Region([0; 256]);
        let base = region.0.as_mut_ptr() as usize;
        // SAFETY: the region is ours, aligned and zeroed.
        let heap = unsafe { BumpAllocator::with_region(base, 256) };
        unsafe {
            let a = heap.alloc(layout(3, 1));
            assert_eq!(a as usize, base + HEADER_LEN);
            let b = heap.alloc(layout(8, 8));
            assert_eq!(b as usize % 8, 0);
            assert!(b as usize >= a as usize + 3);
            // Too big: null, and nothing moves.
            let before = heap.remaining();
            assert!(heap.alloc(layout(1000, 1)).is_null());
            assert_eq!(heap.remaining(), before);
            // Freeing the last block gives it back; freeing an older one does not.
            heap.dealloc(b, layout(8, 8));
            let c = heap.alloc(layout(8, 8));
            assert_eq!(c, b);
            heap.dealloc(a, layout(3, 1));
            assert_eq!(heap.alloc(layout(8, 8)) as usize, c as usize + 8);
        }
    }

    #[test]
    fn realloc_grows_the_last_block_in_place() {
        let mut region = Region([0; 256]);
        let base = region.0.as_mut_ptr() as usize;
        // SAFETY: as above.
        let heap = unsafe { BumpAllocator::with_region(base, 256) };
        unsafe {
            let a = heap.alloc(layout(4, 1));
            a.write_bytes(7, 4);
            let grown = heap.realloc(a, layout(4, 1), 100);
            assert_eq!(grown, a);
            let b = heap.alloc(layout(4, 1));
            // `a` is no longer last: growing it copies.
            let moved = heap.realloc(a, layout(100, 1), 120);
            assert!(moved as usize > b as usize);
            assert_eq!(*moved.add(3), 7);
            // Beyond the region: null.
            assert!(heap.realloc(moved, layout(120, 1), 10_000).is_null());
            assert!(NoAllocator.alloc(layout(1, 1)).is_null());
        }
    }
}
