//! Scenario fixtures for Convoy policies, run through the real host runtime.
//!
//! A [`Fixture`] is one JSON file (format: `policy-tests/fixtures/README.md`): a policy,
//! its configuration, an input, and the exact expected output. A [`Runner`] loads each
//! fixture's policy from a [`ComponentSource`] (freshly built components, or a verified
//! signed bundle; [`ComponentSource::load`] is also how the `convoy` commands load
//! policies) into a shared [`convoy_host_runtime::PolicyEngine`], evaluates it, and
//! compares the output byte for byte as canonical JSON. [`Report`] collects the
//! [`FixtureOutcome`]s; it is what `convoy policy test DIR` prints. [`simulate`] plays a
//! whole-fleet release through the reconciler with simulated agents (`convoy simulate`).

pub mod simulate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use convoy_host_runtime::text::json_printable;
use convoy_host_runtime::{Policy, PolicyCall, PolicyEngine, PolicyKind, Receipt};
use serde_json::Value;

/// One scenario: policy + config + input → expected output.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Built-in component name (`disruption-budget`).
    pub policy: String,
    /// The world.
    pub kind: PolicyKind,
    /// What the case proves, in one sentence.
    pub description: String,
    /// The policy's configuration.
    pub config: Value,
    /// The decision input; absent for a `validate-config` case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// The exact expected output.
    pub expected: Value,
}

impl Fixture {
    /// Reads and parses a fixture file.
    pub fn read(path: &Path) -> Result<Fixture, String> {
        let bytes = convoy_proto::read::read_bounded(path, convoy_proto::read::MAX_INPUT_BYTES)
            .map_err(|e| e.to_string())?;
        let value = convoy_proto::json::parse_strict(&bytes).map_err(|e| e.to_string())?;
        serde_json::from_value(value).map_err(|e| format!("not a fixture: {e}"))
    }

    /// The call this fixture makes.
    pub fn call(&self) -> PolicyCall {
        PolicyCall {
            kind: self.kind,
            config: self.config.clone(),
            input: self.input.clone(),
        }
    }
}

/// Where policy components come from (the one loader of the fixture runner, `convoy
/// policy eval`, `convoy audit replay`, `convoy simulate` and the control plane): it lives
/// in the reconciler crate, which servers may depend on.
pub use convoy_reconciler::{ComponentSource, LoadError};

/// How one fixture went.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The output equals `expected`.
    Pass {
        /// The evaluation's receipt.
        receipt: Receipt,
    },
    /// The policy ran but its output differs from `expected`.
    Fail {
        /// What the fixture expects.
        expected: Value,
        /// What the policy returned.
        actual: Value,
    },
    /// The fixture could not be read, or the policy could not be loaded or evaluated.
    Error(String),
}

/// A fixture's file, description and outcome.
#[derive(Debug, Clone)]
pub struct FixtureOutcome {
    /// The fixture file.
    pub path: PathBuf,
    /// The policy it exercises (empty if the file did not parse).
    pub policy: String,
    /// What it proves.
    pub description: String,
    /// The result.
    pub outcome: Outcome,
}

impl FixtureOutcome {
    /// Whether the fixture passed.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Pass { .. })
    }
}

/// Every outcome of a run, in file order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One per fixture file.
    pub outcomes: Vec<FixtureOutcome>,
}

impl Report {
    /// Fixtures that passed.
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed()).count()
    }

    /// Fixtures that failed or errored.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}

impl fmt::Display for Report {
    /// One line per fixture, then the summary line `N passed, M failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.outcomes {
            let name = o.path.display();
            match &o.outcome {
                Outcome::Pass { receipt } => {
                    writeln!(f, "PASS {name} (fuel {})", receipt.fuel_used)?
                }
                Outcome::Fail { expected, actual } => {
                    // `actual` is the policy's output: its strings are guest text.
                    writeln!(f, "FAIL {name}: {}", o.description)?;
                    writeln!(f, "     expected {}", json_printable(&expected.to_string()))?;
                    writeln!(f, "     actual   {}", json_printable(&actual.to_string()))?;
                }
                Outcome::Error(e) => writeln!(f, "FAIL {name}: {e}")?,
            }
        }
        writeln!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

/// Runs fixtures; loads each policy once.
pub struct Runner {
    engine: PolicyEngine,
    source: ComponentSource,
    loaded: BTreeMap<String, Result<Policy, String>>,
}

impl Runner {
    /// A runner over `engine` taking components from `source`.
    pub fn new(engine: PolicyEngine, source: ComponentSource) -> Self {
        Runner {
            engine,
            source,
            loaded: BTreeMap::new(),
        }
    }

    /// Every `*.json` fixture under `dir` (recursively, `README`s excluded), sorted.
    pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, String> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    walk(&path, out)?;
                } else if path.extension().is_some_and(|e| e == "json") {
                    out.push(path);
                }
            }
            Ok(())
        }
        let mut files = Vec::new();
        walk(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
        files.sort();
        Ok(files)
    }

    /// Runs every fixture under `dir`.
    pub fn run_dir(&mut self, dir: &Path) -> Result<Report, String> {
        let outcomes = Self::discover(dir)?
            .into_iter()
            .map(|p| self.run_file(&p))
            .collect();
        Ok(Report { outcomes })
    }

    /// Runs one fixture file.
    pub fn run_file(&mut self, path: &Path) -> FixtureOutcome {
        let fixture = match Fixture::read(path) {
            Ok(f) => f,
            Err(e) => {
                return FixtureOutcome {
                    path: path.to_owned(),
                    policy: String::new(),
                    description: String::new(),
                    outcome: Outcome::Error(e),
                };
            }
        };
        let outcome = self.evaluate(&fixture);
        FixtureOutcome {
            path: path.to_owned(),
            policy: fixture.policy,
            description: fixture.description,
            outcome,
        }
    }

    /// Evaluates one fixture.
    pub fn evaluate(&mut self, fixture: &Fixture) -> Outcome {
        let policy = match self.policy(&fixture.policy, fixture.kind) {
            Ok(p) => p,
            Err(e) => return Outcome::Error(e),
        };
        match policy.call().evaluate(&fixture.call()) {
            Ok(eval) if eval.output == fixture.expected => Outcome::Pass {
                receipt: eval.receipt,
            },
            Ok(eval) => Outcome::Fail {
                expected: fixture.expected.clone(),
                actual: eval.output,
            },
            Err(e) => Outcome::Error(e.to_string()),
        }
    }

    /// The loaded policy `name`, loading it on first use.
    pub fn policy(&mut self, name: &str, kind: PolicyKind) -> Result<&Policy, String> {
        if !self.loaded.contains_key(name) {
            let loaded = self
                .source
                .load(&self.engine, name, kind, None)
                .map_err(|e| e.to_string());
            self.loaded.insert(name.to_owned(), loaded);
        }
        match self.loaded.get(name) {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("policy {name} not loaded")),
        }
    }
}
