//! The on-disk cache of locally compiled policy components.
//!
//! Compiled code is machine code that wasmtime loads without validation, so a blob is only
//! ever read back from this directory, written by this host with this engine. Nothing in a
//! bundle or on the network can reach [`CompiledCache::load`]: the key is derived from the
//! component's verified sha256 and the engine's compatibility hash, and a file whose
//! checksum does not match its contents is deleted and recompiled, never deserialised.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::PolicyError;
use convoy_proto::Sha256Digest;

/// File header: format tag, then the sha256 of the blob that follows.
const MAGIC: &[u8; 8] = b"CVYCWSM1";

/// A directory of compiled components, keyed by component hash and engine compatibility.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

impl CompiledCache {
    /// Opens (creating if needed) a cache directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, PolicyError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| cache_err(&dir, e))?;
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
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(cache_err(&path, e)),
        };
        let Some(blob) = checked_blob(&bytes) else {
            tracing::warn!(path = %path.display(), "corrupt compiled-cache entry, recompiling");
            let _ = fs::remove_file(&path);
            return Ok(None);
        };
        // SAFETY: `deserialize` trusts its input to be wasmtime output for a compatible
        // engine. `blob` was written by `store` below in this host-private directory from a
        // component this process compiled itself (the file name binds the component's
        // sha256 and the engine compatibility hash), and the checksum above rules out a
        // truncated or bit-rotted file. Bytes from a bundle or the network never get here.
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
        let blob = component
            .serialize()
            .map_err(|e| PolicyError::Engine(format!("serialising compiled component: {e}")))?;
        let path = self.path_for(key, engine_compat);
        let mut tmp = tempfile_in(&self.dir).map_err(|e| cache_err(&self.dir, e))?;
        let write = (|| {
            tmp.1.write_all(MAGIC)?;
            tmp.1.write_all(&Sha256::digest(&blob))?;
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

/// Returns the blob after the header when the header and checksum are intact.
fn checked_blob(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    if rest.len() < 32 {
        return None;
    }
    let (sum, blob) = rest.split_at(32);
    (Sha256::digest(blob).as_slice() == sum).then_some(blob)
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
        reason: e.to_string(),
    }
}
