//! The Nix commands the release tool runs: evaluate the fleet, build host systems, and
//! copy closures to a binary cache. Each is the same command an operator would type; a
//! failure carries the command and Nix's own message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use convoy_proto::ClosureHash;

/// A Nix command that failed.
#[derive(Debug, thiserror::Error)]
pub enum NixError {
    /// The program could not be started (Nix not installed?).
    #[error("cannot run `{program}`: {source} (is Nix installed? see README)")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The command exited non-zero.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// The last lines Nix printed.
        stderr: String,
    },
    /// The command printed something that is not a store path.
    #[error("`{command}` printed `{output}`, not a store path")]
    NotAStorePath {
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
    },
}

/// Runs Nix commands with the experimental features the release needs.
#[derive(Debug, Clone, Default)]
pub struct Nix {
    /// Extra `--option NAME VALUE` pairs for every command.
    pub options: Vec<(String, String)>,
}

impl Nix {
    /// Evaluates `attr` (may be empty) of the Nix file `file` to JSON.
    pub fn eval_file_json(&self, file: &Path, attr: &str) -> Result<Vec<u8>, NixError> {
        let mut cmd = self.command("nix-instantiate");
        cmd.args(["--eval", "--strict", "--json"]).arg(file);
        if !attr.is_empty() {
            cmd.args(["-A", attr]);
        }
        Ok(run(cmd)?.stdout)
    }

    /// Evaluates an installable such as `.#fleet.resolved` to JSON (`nix eval --json`).
    pub fn eval_flake_json(&self, installable: &str) -> Result<Vec<u8>, NixError> {
        let mut cmd = self.command("nix");
        cmd.args(["eval", "--json", installable]);
        Ok(run(cmd)?.stdout)
    }

    /// Builds attribute `attr` of `file` and returns its output path.
    pub fn build(&self, file: &Path, attr: &str) -> Result<ClosureHash, NixError> {
        let mut cmd = self.command("nix-build");
        cmd.arg(file).args(["-A", attr, "--no-out-link"]);
        let command = describe(&cmd);
        let out = run(cmd)?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        text.parse().map_err(|_| NixError::NotAStorePath {
            command,
            output: text,
        })
    }

    /// Copies `path` and its closure to the binary cache `cache_url`, signing the narinfos
    /// with the Nix secret key at `signing_key`.
    pub fn copy_to(
        &self,
        cache_url: &str,
        signing_key: &Path,
        path: &ClosureHash,
    ) -> Result<(), NixError> {
        let mut cmd = self.command("nix");
        let url = with_query(cache_url, "secret-key", &signing_key.display().to_string());
        cmd.args(["copy", "--to", &url, path.store_path()]);
        run(cmd).map(drop)
    }

    /// Copies `path` from the binary cache, accepting only narinfos signed by `public_key`
    /// (a `name:base64` Nix public key).
    pub fn copy_from(
        &self,
        cache_url: &str,
        public_key: &str,
        path: &ClosureHash,
    ) -> Result<(), NixError> {
        let mut cmd = self.command("nix");
        cmd.args(["copy", "--from", cache_url, path.store_path()])
            .args(["--option", "trusted-public-keys", public_key])
            .args(["--option", "require-sigs", "true"]);
        run(cmd).map(drop)
    }

    /// Generates a binary-cache signing key pair: returns (secret key file, public key text).
    pub fn generate_cache_key(
        &self,
        name: &str,
        dir: &Path,
    ) -> Result<(PathBuf, String), NixError> {
        let (secret, public) = (
            dir.join(format!("{name}.sec")),
            dir.join(format!("{name}.pub")),
        );
        let mut cmd = self.command("nix-store");
        cmd.args(["--generate-binary-cache-key", name])
            .arg(&secret)
            .arg(&public);
        run(cmd)?;
        let text = std::fs::read_to_string(&public).map_err(|source| NixError::Spawn {
            program: format!("read {}", public.display()),
            source,
        })?;
        Ok((secret, text.trim().to_owned()))
    }

    /// Deletes `path` from the local store (it must not be alive).
    pub fn delete(&self, path: &ClosureHash) -> Result<(), NixError> {
        let mut cmd = self.command("nix-store");
        cmd.args(["--delete", path.store_path()]);
        run(cmd).map(drop)
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        // Debian's nix 2.8 needs these for `nix copy` / `nix eval`; test systems build
        // with /bin/sh outside the sandbox.
        let features = "experimental-features = nix-command flakes\nsandbox = false";
        let config = match std::env::var("NIX_CONFIG") {
            Ok(existing) if !existing.trim().is_empty() => format!("{existing}\n{features}"),
            _ => features.to_owned(),
        };
        cmd.env("NIX_CONFIG", config);
        for (name, value) in &self.options {
            cmd.args(["--option", name, value]);
        }
        cmd
    }
}

fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={value}")
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(mut cmd: Command) -> Result<Output, NixError> {
    let command = describe(&cmd);
    let out = cmd.output().map_err(|source| NixError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    if out.status.success() {
        return Ok(out);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(6)..].join("\n");
    Err(NixError::Failed {
        command,
        stderr: if tail.is_empty() {
            format!("exit status {}", out.status)
        } else {
            tail
        },
    })
}
