//! `convoy-policy-build`: build Convoy guest policies into import-free components.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use convoy_policy_build::{
    BUILTINS, BuildRequest, Builtin, build_crate, check_component, componentize,
};

const HELP: &str = "\
convoy-policy-build: build Convoy guest policies into import-free wasm components

USAGE:
  convoy-policy-build [OPTIONS] [BUILTIN...]       build built-ins (default: all of them)
  convoy-policy-build [OPTIONS] --crate PATH        build a custom policy crate
  convoy-policy-build [OPTIONS] --core FILE --name NAME
                                                   componentise an existing core module

Each crate is built with `cargo build --release --target wasm32-unknown-unknown`, wrapped
into a component (wit-component's ComponentEncoder), checked (valid, imports nothing,
exports one convoy:policy world) and written to OUT/<name>.wasm. One line per component
goes to stdout: `<name> <world> <sha256> <size>` (tab-separated).

OPTIONS:
  --out DIR          output directory (default: policies/out)
  --target-dir DIR   cargo target directory (default: $CARGO_TARGET_DIR, else
                     <policies>/../target-policy)
  --crate PATH       a policy crate's directory or Cargo.toml (its own package)
  --name NAME        component name (default: the crate's package name)
  --core FILE        a core module built elsewhere, to componentise only
  --list             print the built-in names and exit
  -h, --help         this help
";

#[derive(Default)]
struct Args {
    out: Option<PathBuf>,
    target_dir: Option<PathBuf>,
    krate: Option<PathBuf>,
    name: Option<String>,
    core: Option<PathBuf>,
    builtins: Vec<String>,
    list: bool,
}

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().with_context(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--out" => args.out = Some(value("--out")?.into()),
            "--target-dir" => args.target_dir = Some(value("--target-dir")?.into()),
            "--crate" => args.krate = Some(value("--crate")?.into()),
            "--name" => args.name = Some(value("--name")?),
            "--core" => args.core = Some(value("--core")?.into()),
            "--list" => args.list = true,
            flag if flag.starts_with('-') => bail!("unknown option {flag} (see --help)"),
            builtin => args.builtins.push(builtin.to_owned()),
        }
    }
    Ok(Some(args))
}

/// The policies workspace this tool was built from.
fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> Result<()> {
    let Some(args) = parse_args()? else {
        print!("{HELP}\nBUILTINS:");
        for builtin in BUILTINS {
            print!(" {}", builtin.name);
        }
        println!();
        return Ok(());
    };
    if args.list {
        for builtin in BUILTINS {
            println!("{}", builtin.name);
        }
        return Ok(());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| policies_dir().join("out"));
    let target_dir = args
        .target_dir
        .clone()
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| policies_dir().join("..").join("target-policy"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    if let Some(core) = &args.core {
        let name = args.name.as_deref().context("--core needs --name")?;
        let bytes = std::fs::read(core).with_context(|| format!("reading {}", core.display()))?;
        return emit(&out, name, &bytes, None);
    }
    if let Some(krate) = &args.krate {
        let manifest = if krate.is_dir() {
            krate.join("Cargo.toml")
        } else {
            krate.clone()
        };
        let package = package_name(&manifest)?;
        let req = BuildRequest {
            manifest_path: manifest,
            package: None,
            target_dir,
        };
        let bytes = build_crate(&req, &package)?;
        return emit(&out, args.name.as_deref().unwrap_or(&package), &bytes, None);
    }

    let selected: Vec<&Builtin> = if args.builtins.is_empty() {
        BUILTINS.iter().collect()
    } else {
        args.builtins
            .iter()
            .map(|b| {
                BUILTINS
                    .iter()
                    .find(|builtin| builtin.name == b)
                    .with_context(|| format!("no built-in policy `{b}` (see --list)"))
            })
            .collect::<Result<_>>()?
    };
    // One cargo invocation per policy: the SDK's world features must not unify across
    // guests, or a core module would carry another world's metadata.
    for builtin in selected {
        let req = BuildRequest {
            manifest_path: policies_dir().join("Cargo.toml"),
            package: Some(builtin.package.to_owned()),
            target_dir: target_dir.clone(),
        };
        let bytes = build_crate(&req, builtin.package)?;
        emit(&out, builtin.name, &bytes, Some(builtin.world))?;
    }
    Ok(())
}

/// Componentise, check (and, for a built-in, that it exports `expected` world) and write
/// `OUT/<name>.wasm`; print its line.
fn emit(out: &Path, name: &str, core: &[u8], expected: Option<&str>) -> Result<()> {
    let component = componentize(core).with_context(|| format!("componentising {name}"))?;
    let (world, info) = check_component(&component).with_context(|| format!("checking {name}"))?;
    if let Some(expected) = expected
        && world != expected
    {
        bail!("{name} exports the {world} world, not {expected}");
    }
    let path = out.join(format!("{name}.wasm"));
    std::fs::write(&path, &component).with_context(|| format!("writing {}", path.display()))?;
    println!("{name}\t{world}\t{}\t{}", info.sha256, info.size);
    Ok(())
}

/// The `[package] name` of a manifest (enough TOML for the crates `cargo new` makes).
fn package_name(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(rest) = line.strip_prefix("name") {
            let value = rest
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            if !value.is_empty() {
                return Ok(value.to_owned());
            }
        }
    }
    bail!("{} has no [package] name", manifest.display())
}
