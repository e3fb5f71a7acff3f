//! Where the built-in policy components are, for tests, benchmarks and tools that run the
//! real built-ins.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The built-in policies, by name.
pub const BUILTINS: [&str; 6] = [
    "waves",
    "channel-edges",
    "host-edges",
    "disruption-budget",
    "health",
    "attestation-quarantine",
];

/// The directory holding `<name>.wasm` for every built-in: `$CONVOY_POLICY_COMPONENTS` if
/// set (the test command points it at what `policies/build.sh` has just built), otherwise
/// `policies/out` of this checkout, built by `policies/build.sh` first if a component is
/// missing. Resolved once per process.
pub fn builtin_components() -> Result<PathBuf, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("CONVOY_POLICY_COMPONENTS") {
            return Ok(PathBuf::from(dir));
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = root.join("policies/out");
        if BUILTINS
            .iter()
            .all(|n| out.join(format!("{n}.wasm")).exists())
        {
            return Ok(out);
        }
        let status = std::process::Command::new(root.join("policies/build.sh"))
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("running policies/build.sh: {e}"))?;
        if status.success() {
            Ok(out)
        } else {
            Err(format!("policies/build.sh failed ({status})"))
        }
    })
    .clone()
}
