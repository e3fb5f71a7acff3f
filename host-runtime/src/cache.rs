//! The on-disk cache of locally compiled policy components.
//!
//! Compiled code is machine code that wasmtime loads without validation, so a blob is only
//! ever read back from this directory, written by this host with this engine. Nothing in a
//! bundle or on the network can reach [`CompiledCache::load`]: the directory is private
//! (created 0700; refused when group- or world-writable or owned by another user), and
//! every entry is bound to its key: its header carries the component's sha256 and the
//! engine's compatibility hash, a checksum covers header and code, and all three are
//! compared on load. An entry that fails any of them (corrupt, truncated, or another
//! component's entry copied onto this key) is deleted and recompiled, never deserialised.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::PolicyError;
use crate::error::{CacheProblem, EngineProblem};
use convoy_proto::Sha256Digest;

/// The largest compiled-cache entry read back: far above what a component within the
/// pre-scan's limits compiles to, so only a file that is not ours is ever refused by it.
const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;

/// File format tag. Then the component's sha256 (32 bytes), the engine compatibility hash
/// (64 hex digits), the sha256 of everything before it and the code after it (32 bytes),
/// and the compiled code.
const MAGIC: &[u8; 8] = b"CVYCWSM2";

/// Length of the engine compatibility hash in the header (hex of a sha256).
const COMPAT_LEN: usize = 64;

/// A directory of compiled components, keyed by component hash and engine compatibility.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

impl CompiledCache {
    /// Opens a cache directory, creating it (and missing parents) private to this user
    /// (0700). An existing directory must be owned by this process's effective user and
    /// not be group- or world-writable ([`CacheProblem::Writable`],
    /// [`CacheProblem::ForeignOwner`]): whoever can write it can make this host run their
    /// machine code.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, PolicyError> {
        let dir = dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| cache_err(&dir, e))?;
        let meta = fs::metadata(&dir).map_err(|e| cache_err(&dir, e))?;
        let refuse = |problem| PolicyError::Cache {
            path: dir.display().to_string(),
            problem,
        };
        if !meta.is_dir() {
            return Err(refuse(CacheProblem::NotADirectory));
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(refuse(CacheProblem::ForeignOwner {
                owner: meta.uid(),
                me,
            }));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(refuse(CacheProblem::Writable { mode }));
        }
        Ok(CompiledCache { dir })
    }

    /// The directory this cache lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the compiled form of `component` lives for an engine with `engine_compat`.
    pub fn path_for(&self, component: &Sha256Digest, engine_compat: &str) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", component, engine_compat))
    }

    /// Loads a previously compiled component, or `Ok(None)` when there is no usable entry.
    ///
    /// A corrupt entry (bad header or checksum) is removed so the caller recompiles.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        component: &Sha256Digest,
        engine_compat: &str,
    ) -> Result<Option<Component>, PolicyError> {
        let path = self.path_for(component, engine_compat);
        // An entry is never larger than the largest component compiles to; a bigger file
        // is not ours and is treated like any other unusable entry.
        let bytes = match convoy_proto::read::read_bounded(&path, MAX_ENTRY_BYTES) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(convoy_proto::read::ReadError::TooLarge { .. }) => Vec::new(),
            Err(convoy_proto::read::ReadError::Io { source, .. }) => {
                return Err(cache_err(&path, source));
            }
        };
        let Some(blob) = checked_blob(&bytes, component, engine_compat) else {
            tracing::warn!(
                path = %path.display(),
                "compiled-cache entry corrupt or not this component's, recompiling"
            );
            let _ = fs::remove_file(&path);
            return Ok(None);
        };
        // SAFETY: `deserialize` trusts its input to be wasmtime output for a compatible
        // engine. `blob` was written by `store` below in this private directory (checked
        // at `open`: ours, not writable by others) from a component this process compiled
        // itself; its header names exactly this component's sha256 and this engine's
        // compatibility hash, and the checksum over header and code rules out a truncated
        // or bit-rotted file. Bytes from a bundle or the network never get here.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, blob) };
        match loaded {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                // e.g. written by an older wasmtime: not an error, just a miss.
                tracing::warn!(path = %path.display(), error = %e, "stale compiled-cache entry");
                let _ = fs::remove_file(&path);
                Ok(None)
            }
        }
    }

    /// Stores a freshly compiled component; written to a temporary file and renamed so a
    /// concurrent reader never sees a partial entry.
    pub(crate) fn store(
        &self,
        component: &Component,
        key: &Sha256Digest,
        engine_compat: &str,
    ) -> Result<(), PolicyError> {
        let blob = component.serialize().map_err(|e| {
            PolicyError::Engine(EngineProblem::Serialize {
                detail: e.to_string(),
            })
        })?;
        let path = self.path_for(key, engine_compat);
        let head = header(key, engine_compat);
        let sum = checksum(&head, &blob);
        let mut tmp = tempfile_in(&self.dir).map_err(|e| cache_err(&self.dir, e))?;
        let write = (|| {
            tmp.1.write_all(&head)?;
            tmp.1.write_all(&sum)?;
            tmp.1.write_all(&blob)?;
            tmp.1.sync_all()?;
            fs::rename(&tmp.0, &path)
        })();
        if let Err(e) = write {
            let _ = fs::remove_file(&tmp.0);
            return Err(cache_err(&path, e));
        }
        Ok(())
    }

    /// Removes every entry (used by tests and `convoy policy` to force a cold load).
    pub fn clear(&self) -> Result<(), PolicyError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| cache_err(&self.dir, e))?;
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|x| x == "cwasm") {
                fs::remove_file(entry.path()).map_err(|e| cache_err(&entry.path(), e))?;
            }
        }
        Ok(())
    }
}

/// The header binding an entry to its key: tag, component sha256, engine compatibility.
fn header(component: &Sha256Digest, engine_compat: &str) -> Vec<u8> {
    let mut head = Vec::with_capacity(MAGIC.len() + 32 + COMPAT_LEN);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(component.as_bytes());
    // Fixed width: a compatibility hash of another length cannot shift the fields.
    let compat = engine_compat.as_bytes();
    head.extend((0..COMPAT_LEN).map(|i| compat.get(i).copied().unwrap_or(b'-')));
    head
}

fn checksum(head: &[u8], blob: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(head);
    h.update(blob);
    h.finalize().into()
}

/// Returns the compiled code of an entry when its header names exactly `component` and
/// `engine_compat` and the checksum over header and code holds.
fn checked_blob<'b>(
    bytes: &'b [u8],
    component: &Sha256Digest,
    engine_compat: &str,
) -> Option<&'b [u8]> {
    let head = header(component, engine_compat);
    let rest = bytes.strip_prefix(head.as_slice())?;
    if rest.len() < 32 {
        return None;
    }
    let (sum, blob) = rest.split_at(32);
    (checksum(&head, blob).as_slice() == sum).then_some(blob)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

fn cache_err(path: &Path, e: std::io::Error) -> PolicyError {
    PolicyError::Cache {
        path: path.display().to_string(),
        problem: CacheProblem::Io {
            detail: e.to_string(),
        },
    }
}
