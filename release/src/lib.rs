//! `convoy-release`, the CI tool: it turns the fleet that `mkFleet` evaluates to into signed,
//! published artifacts. [`publish::release`] builds or takes each host's system closure,
//! pushes it to a Nix binary cache ([`nix::Nix`]), bundles the channels' policy components
//! ([`bundle::build_bundle`], checked by the host runtime), pins their hashes into the
//! fleet and runs each policy's `validate-config` on its channels' configurations, bumps
//! the versions, signs `fleet.resolved.json`, the revocations and the policy bundle with
//! the release key and publishes them into an [`publish::ArtifactDir`] (and optionally a
//! git branch, see [`git`]). [`publish::refresh`] re-signs the current artifact so agents
//! never see it go stale: the control plane holds no key, so freshness must come from CI.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod git;
pub mod nix;
pub mod publish;
