//! The pre-scan: what a component costs to compile, counted before it is compiled.
//!
//! Compiling is the one step of loading that no per-call limit covers: a 0.9 MB component
//! of 150,000 empty functions cost seconds and most of a gigabyte in Cranelift before any
//! limit applied. [`scan`] walks the component's sections once with `wasmparser` (no
//! validation, no compilation; it stops at the first excess) and refuses, as
//! [`Rejection::PastLimit`], a component past [`COMPONENT_LIMITS`]. The limits are stated
//! with the built-ins' own figures in `docs/policy-runtime.md`; real policies stay far
//! below them. The per-call limits on instances, memories and tables (the store's limiter
//! and the instance pool) use the same figures, so a component that passes the scan is
//! never refused for its shape at run time.

use wasmparser::{
    ComponentAlias, ComponentDefinedType, ComponentExternalKind, ComponentOuterAliasKind,
    ComponentType, ComponentTypeDeclaration, ComponentTypeRef, ComponentValType,
    InstanceTypeDeclaration, Parser, Payload,
};

use crate::error::Rejection;

/// What a component may have, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentLimits {
    /// Size of the component in bytes.
    pub bytes: u64,
    /// Functions defined by all of its core modules together.
    pub functions: u64,
    /// Core module instances it creates (its modules and the canonical ABI's shims).
    pub core_instances: u64,
    /// Linear memories its core instances create (each instance of a module has that
    /// module's memories).
    pub memories: u64,
    /// Tables its core instances create.
    pub tables: u64,
    /// Bytes of all data segments together.
    pub data_bytes: u64,
    /// Depth of nesting: modules and components inside components, type declarations
    /// inside type declarations, and value types built on value types (`list<list<…>>`).
    pub nesting: u64,
}

/// The limits every load applies. The built-ins have (`docs/policy-runtime.md`): at most
/// 188 KiB, 292 functions, 1 core instance, 1 memory, 1 table, 33 KiB of data, and a
/// nesting depth of 4.
pub const COMPONENT_LIMITS: ComponentLimits = ComponentLimits {
    bytes: 8 << 20,
    functions: 20_000,
    core_instances: 8,
    memories: 4,
    tables: 4,
    data_bytes: 4 << 20,
    nesting: 32,
};

/// A limit of [`ComponentLimits`], as a [`Rejection::PastLimit`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentLimit {
    /// [`ComponentLimits::bytes`].
    Bytes,
    /// [`ComponentLimits::functions`].
    Functions,
    /// [`ComponentLimits::core_instances`].
    CoreInstances,
    /// [`ComponentLimits::memories`].
    Memories,
    /// [`ComponentLimits::tables`].
    Tables,
    /// [`ComponentLimits::data_bytes`].
    DataBytes,
    /// [`ComponentLimits::nesting`].
    Nesting,
}

impl ComponentLimit {
    /// The stable code of the limit.
    pub fn code(self) -> &'static str {
        match self {
            ComponentLimit::Bytes => "bytes",
            ComponentLimit::Functions => "functions",
            ComponentLimit::CoreInstances => "core-instances",
            ComponentLimit::Memories => "memories",
            ComponentLimit::Tables => "tables",
            ComponentLimit::DataBytes => "data-bytes",
            ComponentLimit::Nesting => "nesting",
        }
    }

    fn max(self, limits: &ComponentLimits) -> u64 {
        match self {
            ComponentLimit::Bytes => limits.bytes,
            ComponentLimit::Functions => limits.functions,
            ComponentLimit::CoreInstances => limits.core_instances,
            ComponentLimit::Memories => limits.memories,
            ComponentLimit::Tables => limits.tables,
            ComponentLimit::DataBytes => limits.data_bytes,
            ComponentLimit::Nesting => limits.nesting,
        }
    }
}

impl std::fmt::Display for ComponentLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ComponentLimit::Bytes => "size in bytes",
            ComponentLimit::Functions => "number of functions",
            ComponentLimit::CoreInstances => "number of core instances",
            ComponentLimit::Memories => "number of memories",
            ComponentLimit::Tables => "number of tables",
            ComponentLimit::DataBytes => "bytes of data segments",
            ComponentLimit::Nesting => "nesting depth",
        })
    }
}

/// What [`scan`] counted (of a component within the limits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComponentCounts {
    /// Size in bytes.
    pub bytes: u64,
    /// Functions defined by its core modules.
    pub functions: u64,
    /// Core instances.
    pub core_instances: u64,
    /// Memories defined.
    pub memories: u64,
    /// Tables defined.
    pub tables: u64,
    /// Bytes of data segments.
    pub data_bytes: u64,
    /// Deepest nesting.
    pub nesting: u64,
}

/// Counts while walking, refusing at the first count past its limit.
struct Counter<'l> {
    limits: &'l ComponentLimits,
    counts: ComponentCounts,
}

impl Counter<'_> {
    fn add(&mut self, limit: ComponentLimit, n: u64) -> Result<(), Rejection> {
        let slot = match limit {
            ComponentLimit::Bytes => &mut self.counts.bytes,
            ComponentLimit::Functions => &mut self.counts.functions,
            ComponentLimit::CoreInstances => &mut self.counts.core_instances,
            ComponentLimit::Memories => &mut self.counts.memories,
            ComponentLimit::Tables => &mut self.counts.tables,
            ComponentLimit::DataBytes => &mut self.counts.data_bytes,
            ComponentLimit::Nesting => &mut self.counts.nesting,
        };
        *slot = slot.saturating_add(n);
        self.check(limit)
    }

    fn at_least(&mut self, limit: ComponentLimit, n: u64) -> Result<(), Rejection> {
        if limit == ComponentLimit::Nesting && n > self.counts.nesting {
            self.counts.nesting = n;
        }
        self.check(limit)
    }

    fn check(&self, limit: ComponentLimit) -> Result<(), Rejection> {
        let value = match limit {
            ComponentLimit::Bytes => self.counts.bytes,
            ComponentLimit::Functions => self.counts.functions,
            ComponentLimit::CoreInstances => self.counts.core_instances,
            ComponentLimit::Memories => self.counts.memories,
            ComponentLimit::Tables => self.counts.tables,
            ComponentLimit::DataBytes => self.counts.data_bytes,
            ComponentLimit::Nesting => self.counts.nesting,
        };
        let max = limit.max(self.limits);
        if value > max {
            return Err(Rejection::PastLimit { limit, value, max });
        }
        Ok(())
    }
}

/// Walks `bytes` and refuses them past `limits`; malformed bytes are
/// [`Rejection::NotAComponent`]. Linear in the size, allocation bounded by the limits.
pub fn scan(bytes: &[u8], limits: &ComponentLimits) -> Result<ComponentCounts, Rejection> {
    let mut c = Counter {
        limits,
        counts: ComponentCounts::default(),
    };
    c.add(ComponentLimit::Bytes, bytes.len() as u64)?;
    let malformed = |e: wasmparser::BinaryReaderError| Rejection::NotAComponent {
        detail: crate::text::printable_owned(&e.to_string()),
    };
    // Per open component or module: the depth of each type of the component's type
    // index space, as far as the scan follows it (defined types built on earlier ones),
    // and for a component the memories and tables of each core module it defines (in
    // module index order), which each instantiation of that module creates.
    let mut levels: Vec<Level> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(malformed)?;
        match payload {
            Payload::Version { encoding, .. } => {
                levels.push(Level {
                    module: encoding == wasmparser::Encoding::Module,
                    ..Level::default()
                });
                c.at_least(ComponentLimit::Nesting, levels.len() as u64)?;
            }
            Payload::End(_) => {
                if let Some(done) = levels.pop()
                    && done.module
                    && let Some(parent) = levels.last_mut()
                {
                    parent.modules.push((done.memories, done.tables));
                }
            }
            Payload::FunctionSection(r) => c.add(ComponentLimit::Functions, r.count().into())?,
            Payload::MemorySection(r) => {
                if let Some(level) = levels.last_mut() {
                    level.memories = level.memories.saturating_add(r.count().into());
                }
            }
            Payload::TableSection(r) => {
                if let Some(level) = levels.last_mut() {
                    level.tables = level.tables.saturating_add(r.count().into());
                }
            }
            Payload::InstanceSection(r) => {
                for instance in r {
                    c.add(ComponentLimit::CoreInstances, 1)?;
                    if let wasmparser::Instance::Instantiate { module_index, .. } =
                        instance.map_err(malformed)?
                    {
                        // A module imported or aliased from elsewhere is not counted here;
                        // the store's limiter still counts its memories at run time.
                        let (memories, tables) = levels
                            .last()
                            .and_then(|l| l.modules.get(module_index as usize).copied())
                            .unwrap_or_default();
                        c.add(ComponentLimit::Memories, memories)?;
                        c.add(ComponentLimit::Tables, tables)?;
                    }
                }
            }
            Payload::DataSection(r) => {
                for data in r {
                    let data = data.map_err(malformed)?;
                    c.add(ComponentLimit::DataBytes, data.data.len() as u64)?;
                }
            }
            Payload::ComponentTypeSection(r) => {
                let outer = levels.len() as u64;
                for ty in r {
                    let ty = ty.map_err(malformed)?;
                    let types = levels
                        .last()
                        .map(|l| l.types.as_slice())
                        .unwrap_or_default();
                    let depth = type_depth(&ty, types);
                    c.at_least(ComponentLimit::Nesting, outer + depth)?;
                    if let Some(level) = levels.last_mut() {
                        level.types.push(depth);
                    }
                }
            }
            // Other entries of the type index space: one level each.
            Payload::ComponentImportSection(r) => {
                for import in r {
                    if matches!(import.map_err(malformed)?.ty, ComponentTypeRef::Type(_)) {
                        push_type(&mut levels);
                    }
                }
            }
            Payload::ComponentExportSection(r) => {
                for export in r {
                    if export.map_err(malformed)?.kind == ComponentExternalKind::Type {
                        push_type(&mut levels);
                    }
                }
            }
            Payload::ComponentAliasSection(r) => {
                for alias in r {
                    if is_type_alias(&alias.map_err(malformed)?) {
                        push_type(&mut levels);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(c.counts)
}

/// One more entry of the innermost level's type index space, one level deep.
fn push_type(levels: &mut [Level]) {
    if let Some(level) = levels.last_mut() {
        level.types.push(1);
    }
}

/// What the scan keeps of an open component or module.
#[derive(Default)]
struct Level {
    /// A core module (not a component).
    module: bool,
    /// Depth of each entry of the type index space.
    types: Vec<u64>,
    /// Of a module: memories and tables it defines.
    memories: u64,
    tables: u64,
    /// Of a component: (memories, tables) of each core module it defines, in order.
    modules: Vec<(u64, u64)>,
}

fn is_type_alias(alias: &ComponentAlias<'_>) -> bool {
    match alias {
        ComponentAlias::InstanceExport { kind, .. } => *kind == ComponentExternalKind::Type,
        ComponentAlias::Outer { kind, .. } => *kind == ComponentOuterAliasKind::Type,
        ComponentAlias::CoreInstanceExport { .. } => false,
    }
}

/// How deep a type is: 1 for a leaf, one more than its deepest part otherwise (a part
/// named by index takes that type's recorded depth).
fn type_depth(ty: &ComponentType<'_>, types: &[u64]) -> u64 {
    let val = |v: &ComponentValType| match v {
        ComponentValType::Primitive(_) => 0,
        ComponentValType::Type(i) => types.get(*i as usize).copied().unwrap_or(1),
    };
    let opt = |v: &Option<ComponentValType>| v.as_ref().map_or(0, val);
    1 + match ty {
        ComponentType::Defined(d) => match d {
            ComponentDefinedType::Primitive(_)
            | ComponentDefinedType::Flags(_)
            | ComponentDefinedType::Enum(_)
            | ComponentDefinedType::Own(_)
            | ComponentDefinedType::Borrow(_) => 0,
            ComponentDefinedType::Record(fields) => {
                fields.iter().map(|(_, v)| val(v)).max().unwrap_or(0)
            }
            ComponentDefinedType::Variant(cases) => {
                cases.iter().map(|c| opt(&c.ty)).max().unwrap_or(0)
            }
            ComponentDefinedType::List(v)
            | ComponentDefinedType::FixedLengthList(v, _)
            | ComponentDefinedType::Option(v) => val(v),
            ComponentDefinedType::Map(k, v) => val(k).max(val(v)),
            ComponentDefinedType::Tuple(vs) => vs.iter().map(val).max().unwrap_or(0),
            ComponentDefinedType::Result { ok, err } => opt(ok).max(opt(err)),
            ComponentDefinedType::Future(v) | ComponentDefinedType::Stream(v) => opt(v),
        },
        ComponentType::Func(_) | ComponentType::Resource { .. } => 0,
        ComponentType::Component(decls) => decls
            .iter()
            .map(|d| match d {
                ComponentTypeDeclaration::Type(t) => type_depth(t, &[]),
                _ => 0,
            })
            .max()
            .unwrap_or(0),
        ComponentType::Instance(decls) => decls
            .iter()
            .map(|d| match d {
                InstanceTypeDeclaration::Type(t) => type_depth(t, &[]),
                _ => 0,
            })
            .max()
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_component_and_size_comes_first() {
        let err = scan(b"\0asm\x0d\0\x01\0garbage", &COMPONENT_LIMITS).unwrap_err();
        assert_eq!(err.code(), "not-a-component");
        let small = ComponentLimits {
            bytes: 4,
            ..COMPONENT_LIMITS
        };
        assert_eq!(
            scan(b"12345", &small),
            Err(Rejection::PastLimit {
                limit: ComponentLimit::Bytes,
                value: 5,
                max: 4
            })
        );
    }
}
