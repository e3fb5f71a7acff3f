//! `convoy trust init` and `convoy trust rotate`: the org-root key signs the trust root.

use std::path::{Path, PathBuf};

use anyhow::Context;
use convoy_proto::{
    PublicKeyFile, ReleaseKey, SecretKey, Timestamp, TrustRoot, VerifyOptions, sign,
    verify_trust_root,
};

use crate::Failure;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create the first trust root: the org-root key signs the list of release keys.
    Init(InitArgs),
    /// Add a new release key and retire an old one at a stated time (the two overlap until
    /// then, so artifacts signed by either verify during the switch).
    Rotate(RotateArgs),
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// The org-root private key file.
    #[arg(long)]
    org_key: PathBuf,
    /// A release public key file (repeat for several).
    #[arg(long = "release-key", required = true)]
    release_keys: Vec<PathBuf>,
    /// How many distinct release keys must sign each artifact.
    #[arg(long, default_value_t = 1)]
    threshold: u32,
    /// Where to write the signed trust root.
    #[arg(long)]
    out: PathBuf,
    /// Sign as of this instant instead of the clock (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    now: Option<Timestamp>,
}

#[derive(clap::Args)]
pub struct RotateArgs {
    /// The org-root private key file.
    #[arg(long)]
    org_key: PathBuf,
    /// The current signed trust root.
    #[arg(long)]
    trust_root: PathBuf,
    /// The incoming release public key file.
    #[arg(long)]
    add_release_key: PathBuf,
    /// Key id of the outgoing release key.
    #[arg(long)]
    retire: String,
    /// When the outgoing key stops being valid (end of the overlap).
    #[arg(long)]
    retire_at: Timestamp,
    /// Where to write the new signed trust root.
    #[arg(long)]
    out: PathBuf,
    /// Sign as of this instant instead of the clock.
    #[arg(long)]
    now: Option<Timestamp>,
}

pub fn run(cmd: Command, json: bool) -> Result<(), Failure> {
    let root = match cmd {
        Command::Init(args) => init(args)?,
        Command::Rotate(args) => rotate(args)?,
    };
    if json {
        crate::print_json(&root)
    } else {
        println!(
            "trust root version {} signed by org root {}",
            root.meta.version, root.org_root.key_id
        );
        println!(
            "release threshold {} of {}",
            root.release_threshold,
            root.release_keys.len()
        );
        for key in &root.release_keys {
            let until = key
                .not_after
                .map(|t| t.to_string())
                .unwrap_or_else(|| "open-ended".into());
            println!(
                "  release key {}  valid {} .. {}",
                key.key_id, key.not_before, until
            );
        }
        Ok(())
    }
}

fn init(args: InitArgs) -> Result<TrustRoot, Failure> {
    let now = args.now.unwrap_or_else(Timestamp::now);
    let org = load_secret(&args.org_key)?;
    let mut root = TrustRoot::single(&org, &org, now);
    root.release_keys = args
        .release_keys
        .iter()
        .map(|path| {
            let key = load_public(path)?;
            Ok(ReleaseKey {
                key_id: key.key_id,
                public_key: key.public_key,
                not_before: now,
                not_after: None,
            })
        })
        .collect::<Result<_, Failure>>()?;
    root.release_threshold = args.threshold;
    write_signed(&root, &org, &args.out)?;
    Ok(root)
}

fn rotate(args: RotateArgs) -> Result<TrustRoot, Failure> {
    let now = args.now.unwrap_or_else(Timestamp::now);
    let org = load_secret(&args.org_key)?;
    let bytes = convoy_proto::published::read_artifact(
        &args.trust_root,
        convoy_proto::ArtifactKind::TrustRoot,
    )
    .map_err(Failure::load)?;
    let current =
        verify_trust_root(&bytes, &org.public_key(), &VerifyOptions::at(now)).map_err(|e| {
            Failure::Coded {
                code: e.code(),
                message: format!(
                    "the current trust root {} does not verify: {e}",
                    args.trust_root.display()
                ),
            }
        })?;
    if args.retire_at <= now {
        return Err(anyhow::anyhow!(
            "--retire-at {} is not in the future: the keys would not overlap",
            args.retire_at
        )
        .into());
    }
    let mut root = (*current).clone();
    let incoming = load_public(&args.add_release_key)?;
    if root.release_key(&incoming.key_id).is_some() {
        return Err(anyhow::anyhow!(
            "release key {} is already in the trust root",
            incoming.key_id
        )
        .into());
    }
    let outgoing = root
        .release_keys
        .iter_mut()
        .find(|k| k.key_id.as_str() == args.retire)
        .with_context(|| format!("no release key `{}` in the trust root", args.retire))?;
    outgoing.not_after = Some(args.retire_at);
    root.release_keys.push(ReleaseKey {
        key_id: incoming.key_id,
        public_key: incoming.public_key,
        not_before: now,
        not_after: None,
    });
    root.meta.version = root
        .meta
        .version
        .next()
        .context("trust root version exhausted")?;
    root.meta.signed_at = now;
    write_signed(&root, &org, &args.out)?;
    Ok(root)
}

fn write_signed(root: &TrustRoot, org: &SecretKey, out: &Path) -> Result<(), Failure> {
    let bytes = sign(root, &[org])?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn load_secret(path: &Path) -> Result<SecretKey, Failure> {
    convoy_proto::published::load_secret_key(path).map_err(Failure::load)
}

/// Reads a public key file, bounded.
pub fn load_public(path: &Path) -> Result<PublicKeyFile, Failure> {
    convoy_proto::published::load_public_key(path).map_err(Failure::load)
}
