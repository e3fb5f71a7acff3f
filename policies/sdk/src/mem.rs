//! Byte comparison for wasm32 guests, eight bytes at a time.
//!
//! On `wasm32-unknown-unknown`, `memcmp` and `bcmp` (what `==` and `cmp` on strings and
//! byte slices call) come from `compiler-builtins` as a loop over single bytes, and under
//! fuel metering each byte costs several metered instructions. Policies compare names,
//! channels, tags and reasons constantly (map lookups keyed by channel, the reason table),
//! so the SDK defines both symbols for its guests — a strong definition overrides the weak
//! builtin at link time — on top of [`compare`], which is ordinary safe Rust and tested
//! natively. Native builds keep the C library's.

/// `memcmp` on slices: negative, zero or positive as `a` sorts before, equal to or after
/// `b` in byte order (only for equal lengths, as `memcmp` is only called with one).
///
/// It compares with explicit loops: slice `==` or `cmp` would call `memcmp`, i.e. itself.
pub fn compare(a: &[u8], b: &[u8]) -> i32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_be_bytes(word(a, i));
        let y = u64::from_be_bytes(word(b, i));
        if x != y {
            return if x < y { -1 } else { 1 };
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return i32::from(a[i]) - i32::from(b[i]);
        }
        i += 1;
    }
    0
}

/// The eight bytes at `at` (the caller keeps `at + 8` within `s`): one load.
fn word(s: &[u8], at: usize) -> [u8; 8] {
    s.get(at..at + 8)
        .and_then(|w| w.try_into().ok())
        .unwrap_or([0; 8])
}

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod symbols {
    /// # Safety
    /// `a` and `b` must be valid for reads of `n` bytes (the C contract of `memcmp`).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller guarantees both ranges are readable for `n` bytes.
        let (a, b) = unsafe {
            (
                core::slice::from_raw_parts(a, n),
                core::slice::from_raw_parts(b, n),
            )
        };
        super::compare(a, b)
    }

    /// # Safety
    /// As for [`memcmp`]; only zero versus non-zero is meaningful.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller's contract is the one `memcmp` needs.
        unsafe { memcmp(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn orders_like_memcmp() {
        let samples: [&[u8]; 9] = [
            b"",
            b"a",
            b"prod",
            b"staging",
            b"web-00120",
            b"web-00121",
            b"budget `fleet` is full: 1000 of 1000 in flight",
            b"budget `fleet` is full: 1000 of 1000 in flighT",
            b"\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08",
        ];
        for a in samples {
            for b in samples {
                let n = a.len().min(b.len());
                let expected = a[..n].cmp(&b[..n]) as i32;
                assert_eq!(compare(&a[..n], &b[..n]).signum(), expected, "{a:?} {b:?}");
            }
        }
        // A difference in every position of a long word-aligned run is found, and sorts.
        let base: Vec<u8> = (0u8..40).collect();
        for i in 0..base.len() {
            let mut up = base.clone();
            up[i] += 1;
            assert_eq!(compare(&base, &up), -1, "byte {i}");
            assert_eq!(compare(&up, &base), 1, "byte {i}");
        }
        assert_eq!(compare(&base, &base.clone()), 0);
    }
}
