//! The one byte layout Convoy's policy hashes share (`docs/policy-abi.md`: "Snapshot
//! hash", "Decision hash"): a domain tag, then fields in WIT order, all integers
//! little-endian; a list is its `u64` count followed by its items at their WIT width, a
//! string its `u64` byte length followed by its UTF-8 bytes.

use convoy_proto::Sha256Digest;
use sha2::Digest;

/// A sha256 written in that layout.
pub(crate) struct LeHash(sha2::Sha256);

impl LeHash {
    pub(crate) fn new(domain: &[u8]) -> Self {
        let mut h = sha2::Sha256::new();
        h.update(domain);
        LeHash(h)
    }

    /// Raw bytes, no length (a fixed-width field).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    /// A byte list, or a string's bytes.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.update(bytes);
    }

    pub(crate) fn texts(&mut self, items: &[String]) {
        self.count(items.len());
        for s in items {
            self.bytes(s.as_bytes());
        }
    }

    pub(crate) fn u32s(&mut self, items: &[u32]) {
        self.items(items.len(), items.iter().map(|x| x.to_le_bytes()));
    }

    pub(crate) fn u64s(&mut self, items: &[u64]) {
        self.items(items.len(), items.iter().map(|x| x.to_le_bytes()));
    }

    /// A list of records of two `u32`s.
    pub(crate) fn pairs(&mut self, items: impl ExactSizeIterator<Item = (u32, u32)>) {
        let n = items.len();
        self.items(
            n,
            items.map(|(a, b)| {
                let mut w = [0u8; 8];
                w[..4].copy_from_slice(&a.to_le_bytes());
                w[4..].copy_from_slice(&b.to_le_bytes());
                w
            }),
        );
    }

    /// `n` fixed-width items, fed to the hash through a stack buffer.
    fn items<const W: usize>(&mut self, n: usize, items: impl Iterator<Item = [u8; W]>) {
        self.count(n);
        let mut buf = [0u8; 4096];
        let mut used = 0;
        for item in items {
            if used + W > buf.len() {
                self.0.update(&buf[..used]);
                used = 0;
            }
            buf[used..used + W].copy_from_slice(&item);
            used += W;
        }
        self.0.update(&buf[..used]);
    }

    pub(crate) fn finish(self) -> Sha256Digest {
        Sha256Digest::from_bytes(self.0.finalize().into())
    }
}
