//! `convoy-release`, the CI tool: it turns the fleet that `mkFleet` evaluates to into signed,
//! published artifacts. [`publish::release`] builds or takes each host's system closure,
//! pushes it to a Nix binary cache ([`nix::Nix`]), pins it into the fleet, bumps the
//! version, signs `fleet.resolved.json` and the revocations with the release key and
//! publishes them into an [`publish::ArtifactDir`] (and optionally a git branch, see
//! [`git`]). [`publish::refresh`] re-signs the current artifact so agents never see it
//! go stale: the control plane holds no key, so freshness must come from CI.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod git;
pub mod nix;
pub mod publish;
