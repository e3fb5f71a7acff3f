//! The hostile-module corpus (`host-runtime/tests/hostile`, see its README) as real
//! components built against the workspace's `wit/`: what the host runtime's tests, its
//! benchmark and the release tooling's tests load when they need a misbehaving — or a
//! minimal, import-free — policy. Test support: a corpus file that does not build panics.

use std::path::{Path, PathBuf};

/// `host-runtime/tests/hostile`.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host-runtime/tests/hostile")
}

/// The workspace's `wit/`.
pub fn wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
}

/// The component bytes of a corpus entry: a file starting with `(component` or `(module`
/// as it is; any other file is the body of a core module for the `gate` world, wrapped
/// after `prelude.wat` and componentised.
pub fn corpus_component(file: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(corpus_dir().join(file)).expect("corpus file");
    let trimmed = text.trim_start();
    if trimmed.starts_with("(component") || trimmed.starts_with("(module") {
        return wat::parse_str(&text).expect("corpus text parses");
    }
    let prelude = std::fs::read_to_string(corpus_dir().join("prelude.wat")).expect("prelude");
    let module = wat::parse_str(format!("(module\n{prelude}\n{text}\n)")).expect("core wat");
    componentize(module, "gate")
}

/// Wraps a core module into a component of the world called `world` (`gate`) in `wit/`,
/// as the guest build tool does.
pub fn componentize(mut module: Vec<u8>, world: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(wit_dir()).expect("wit/ parses");
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("world exists");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embed metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module accepted")
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// A `gate` component from the body of a core module (functions, globals, data), wrapped
/// after `prelude.wat` like a corpus file: how a test writes a hostile case in place.
pub fn gate_component(body: &str) -> Vec<u8> {
    let prelude = std::fs::read_to_string(corpus_dir().join("prelude.wat")).expect("prelude");
    let module = wat::parse_str(format!("(module\n{prelude}\n{body}\n)")).expect("core wat");
    componentize(module, "gate")
}
