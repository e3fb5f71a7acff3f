//! `convoy keygen`: an Ed25519 key pair as two files.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use convoy_proto::{PublicKeyFile, SecretKey};

use crate::Failure;

/// Generate a key pair: `<dir>/<name>.key` (private, mode 0600) and `<dir>/<name>.pub`.
#[derive(clap::Args)]
pub struct Args {
    /// Base name of the files, e.g. `org-root` or `release-2026`.
    #[arg(long)]
    name: String,
    /// Directory to write into (created if missing).
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Overwrite existing files (a private key is never overwritten silently).
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, json: bool) -> Result<(), Failure> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let key = SecretKey::generate();
    let secret = args.out_dir.join(format!("{}.key", args.name));
    let public = args.out_dir.join(format!("{}.pub", args.name));
    write_private(&secret, &key.to_file_bytes(), args.force)?;
    std::fs::write(
        &public,
        PublicKeyFile::new(key.public_key()).to_file_bytes(),
    )
    .with_context(|| format!("writing {}", public.display()))?;
    if json {
        crate::print_json(&serde_json::json!({
            "keyId": key.key_id(),
            "privateKey": secret,
            "publicKey": public,
        }))
    } else {
        println!("key id {}", key.key_id());
        println!(
            "private key {} (mode 0600: keep it offline or in an HSM)",
            secret.display()
        );
        println!("public key  {}", public.display());
        Ok(())
    }
}

/// Creates `path` with mode 0600 from the start (never world-readable, even briefly).
fn write_private(path: &std::path::Path, bytes: &[u8], force: bool) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating {} (it exists? pass --force to overwrite a key)",
            path.display()
        )
    })?;
    // An existing file keeps its old mode when truncated: tighten it explicitly.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
