//! Bounded reads of outside input. Every file a verifier, the release tool or the CLI is
//! handed (artifacts, trust roots, keys, bundle manifests, components, state, call and
//! evidence files) is read through [`read_bounded`]: the size is checked from the metadata
//! first, and the read itself never goes past the limit (a file that grows, a FIFO, or
//! `/dev/zero` whose metadata says 0), so a hostile path costs at most `limit + 1` bytes.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::json::MAX_DOCUMENT_BYTES;

/// The largest signed artifact (fleet, revocations, policy bundle manifest) read from a file.
pub const MAX_ARTIFACT_BYTES: u64 = MAX_DOCUMENT_BYTES as u64;

/// The largest trust root read from a file: a few keys, far below this.
pub const MAX_TRUST_ROOT_BYTES: u64 = 1024 * 1024;

/// The largest key file (`convoy keygen` writes ~200 bytes).
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// The largest verifier state file (four entries of ~150 bytes).
pub const MAX_STATE_FILE_BYTES: u64 = 64 * 1024;

/// The largest policy component read from a file (the built-ins are ~100 KiB).
pub const MAX_COMPONENT_BYTES: u64 = 64 * 1024 * 1024;

/// The largest other input document (a policy call, evidence, a scenario, an unsigned fleet).
pub const MAX_INPUT_BYTES: u64 = MAX_DOCUMENT_BYTES as u64;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused (missing file, permissions, a directory …).
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is larger than the limit for its kind; nothing past the limit was read.
    #[error("{path} is {} bytes, above the {limit}-byte limit", if *.exact { size.to_string() } else { format!("more than {limit}") })]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size from the metadata, or `limit + 1` when it only showed while reading.
        size: u64,
        /// Whether `size` is the exact size (from the metadata) or a lower bound.
        exact: bool,
        /// The limit that applied.
        limit: u64,
    },
}

impl ReadError {
    /// A stable, kebab-case name of the failure (`too-large`, `not-found`, `unreadable`).
    pub fn code(&self) -> &'static str {
        match self {
            e if e.is_not_found() => "not-found",
            ReadError::Io { .. } => "unreadable",
            ReadError::TooLarge { .. } => "too-large",
        }
    }

    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// What is wrong, without the path (for callers that name the file themselves).
    pub fn reason(&self) -> String {
        match self {
            ReadError::Io { source, .. } => source.to_string(),
            ReadError::TooLarge {
                size, exact, limit, ..
            } => match exact {
                true => format!("{size} bytes, above the {limit}-byte limit"),
                false => format!("more than {limit} bytes, above the {limit}-byte limit"),
            },
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. } | ReadError::TooLarge { path, .. } => path,
        }
    }
}

/// Reads `path` whole if it holds at most `limit` bytes; refuses it as
/// [`ReadError::TooLarge`] otherwise, without reading past `limit + 1` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if metadata.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    // Regular files announce their size: refuse before reading a byte.
    if metadata.is_file() && metadata.len() > limit {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            size: metadata.len(),
            exact: true,
            limit,
        });
    }
    let capacity = if metadata.is_file() {
        metadata.len()
    } else {
        0
    };
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            exact: false,
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_multi_gib_file_is_refused_from_its_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.json");
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(8 * 1024 * 1024 * 1024).expect("sparse 8 GiB");
        let err = read_bounded(&path, MAX_ARTIFACT_BYTES).expect_err("refused");
        assert_eq!(err.code(), "too-large");
        assert!(
            matches!(err, ReadError::TooLarge { size, exact: true, .. } if size == 8 << 30),
            "{err:?}"
        );
    }

    #[test]
    fn dev_zero_is_refused_after_limit_plus_one_bytes() {
        let err = read_bounded(Path::new("/dev/zero"), 4096).expect_err("refused");
        assert!(
            matches!(
                err,
                ReadError::TooLarge {
                    size: 4097,
                    exact: false,
                    limit: 4096,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("more than 4096"), "{err}");
    }

    #[test]
    fn files_up_to_the_limit_are_read_and_missing_ones_are_io_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        std::fs::write(&path, b"12345").expect("write");
        assert_eq!(read_bounded(&path, 5).expect("at the limit"), b"12345");
        assert_eq!(
            read_bounded(&path, 4).expect_err("above").code(),
            "too-large"
        );
        let missing = read_bounded(&dir.path().join("nope"), 5).expect_err("missing");
        assert!(missing.is_not_found());
        assert_eq!(missing.code(), "not-found");
        assert_eq!(
            read_bounded(dir.path(), 5).expect_err("dir").code(),
            "unreadable"
        );
    }
}
