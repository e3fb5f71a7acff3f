//! The guests' allocator: a bump allocator that only takes back its most recent block.
//!
//! Every evaluation runs in a fresh instance whose linear memory the host discards whole
//! (DESIGN.md §3), so a guest's allocations only ever live for one call. With a
//! general-purpose allocator the bookkeeping is a large share of a call. Here an
//! allocation is an aligned pointer bump, and freeing the most recent block (a temporary
//! string, a buffer just outgrown) moves the bump back, so temporaries do not pile up:
//! the memory a call touches is memory the host zeroes before the next one. Any other
//! free is nothing, and memory grows in 1 MiB steps through `memory.grow` — which the
//! host's memory limiter bounds, trapping (a typed "memory exceeded" error) rather than
//! returning a wrong answer. Only compiled for wasm32 guests; native builds keep the
//! system allocator.
//!
//! This is one of the two places with `unsafe` in the SDK (the other is the generated
//! bindings): `GlobalAlloc` is an unsafe trait by nature.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;

const PAGE: usize = 65_536;
/// Grow at least this many pages at once (256 KiB): `memory.grow` stays rare, and the
/// host zeroes little memory the guest never used.
const MIN_GROW_PAGES: usize = 4;

/// A bump allocator over the pages it grows.
pub struct Bump {
    /// Next free byte of the current region.
    next: Cell<usize>,
    /// End of the current region (exclusive).
    end: Cell<usize>,
}

// SAFETY: a wasm32-unknown-unknown guest has one thread: Convoy's engine enables no
// threads proposal and the guest spawns none, so the cells are never shared across threads.
unsafe impl Sync for Bump {}

impl Bump {
    /// An allocator with no region yet; the first allocation grows one.
    pub const fn new() -> Self {
        Bump {
            next: Cell::new(0),
            end: Cell::new(0),
        }
    }

    /// Start of a block for `layout` in `[next, end)`, if it fits.
    fn fit(next: usize, end: usize, layout: Layout) -> Option<usize> {
        let start = next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let stop = start.checked_add(layout.size())?;
        (stop <= end).then_some(start)
    }

    fn take(&self, layout: Layout) -> *mut u8 {
        if let Some(start) = Self::fit(self.next.get(), self.end.get(), layout) {
            self.next.set(start + layout.size());
            return start as *mut u8;
        }
        // Enough pages for this block even at the start of a fresh page-aligned region.
        let Some(bytes) = layout.size().checked_add(layout.align()) else {
            return core::ptr::null_mut();
        };
        let pages = bytes.div_ceil(PAGE).max(MIN_GROW_PAGES);
        let previous = wasm32::memory_grow(0, pages);
        if previous == usize::MAX {
            return core::ptr::null_mut();
        }
        let region = previous * PAGE;
        if region != self.end.get() {
            // Not contiguous with the current region (the first growth): start over there.
            self.next.set(region);
        }
        self.end.set(region + pages * PAGE);
        match Self::fit(self.next.get(), self.end.get(), layout) {
            Some(start) => {
                self.next.set(start + layout.size());
                start as *mut u8
            }
            None => core::ptr::null_mut(),
        }
    }
}

impl Default for Bump {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: `alloc` returns blocks aligned to `layout.align()`, `layout.size()` bytes long,
// inside memory this allocator grew and that no live block overlaps (the bump only moves
// back over the most recent block, once it is freed), or null when memory cannot grow.
// `dealloc` takes back only the most recent block and leaks the others (see the module
// docs). `realloc` extends the most recent block in place when it can, else allocates and
// copies the old contents, as `GlobalAlloc` requires.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.take(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The most recent block (a temporary `format!` string, a buffer that just moved
        // on growing) is taken back; any other block is left where it is.
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_end = ptr as usize + layout.size();
        if old_end == self.next.get()
            && let Some(new_end) = (ptr as usize).checked_add(new_size)
            && new_end <= self.end.get()
        {
            // The last block: grow or shrink it where it is.
            self.next.set(new_end.max(ptr as usize));
            return ptr;
        }
        // SAFETY: the caller guarantees `new_size`, rounded up to `layout.align()`, does
        // not overflow `isize`, so this layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = self.take(new_layout);
        if !new.is_null() {
            // SAFETY: both blocks are valid for the copied length and do not overlap (the
            // new block lies past `next`, beyond every block handed out before).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Bump = Bump::new();
