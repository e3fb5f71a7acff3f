//! The revocations sidecar: hosts whose credentials issued before a given instant are no
//! longer trusted. Signed by a release key and kept fresh by CI like the fleet artifact, so
//! that a frozen (withheld) revocation list is detected as stale.

use serde::{Deserialize, Serialize};

use crate::{Meta, Timestamp};

/// The revocations schema version this crate reads and writes.
pub const REVOCATIONS_SCHEMA_VERSION: u32 = 1;

/// The revocations document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Revocations {
    /// Always [`REVOCATIONS_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// How old the signature may be before verifiers refuse the list as stale.
    pub freshness_window_minutes: u32,
    /// The revoked hosts.
    pub revocations: Vec<Revocation>,
    /// Version and signing metadata.
    pub meta: Meta,
}

/// One revoked host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Revocation {
    /// The host's name.
    pub host: String,
    /// Certificates and check-ins of this host issued before this instant are refused.
    pub not_before: Timestamp,
    /// Why (shown in audit output).
    pub reason: String,
}

/// The unsigned input to the release tool: just the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevocationList {
    /// The revoked hosts.
    pub revocations: Vec<Revocation>,
}
