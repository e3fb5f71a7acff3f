//! The fleet snapshot of one tick: what the rollout and gate worlds see, built once and
//! shared by every call of the tick.
//!
//! A [`Snapshot`] is the hosts' columnar encoding (`types.snapshot` in `wit/`), sorted by
//! name with each host's tags sorted: every distinct string once in a string table, hosts
//! as columns of string ids and numbers. Lowering that into a fresh
//! instance is a dozen block copies, however many hosts there are, where a `list<host>`
//! would cost one guest allocation call per string and a store per field. Its
//! [`Snapshot::sha256`] is computed once, here; every receipt of the tick names it instead
//! of re-hashing 10,000 hosts per call.

use std::hash::BuildHasher;

use convoy_proto::Sha256Digest;
use convoy_proto::json::MAX_SAFE_INTEGER;
use hashbrown::HashTable;

use crate::abi::gate::Verdict;
use crate::abi::rollout::Plan;
use crate::abi::types::{Host, Rollout};
use crate::abi::wire::{HostColumnsRef, NO_STR, NO_TIME, PlanOut, SnapshotRef, VerdictOut};
use crate::le_hash::LeHash;

/// Why hosts could not become a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Two hosts share a name (the signed fleet never has that).
    #[error("host `{name}` appears twice in the snapshot")]
    DuplicateHost {
        /// The repeated name.
        name: String,
    },
    /// A number canonical JSON cannot carry (beyond 2^53 − 1), so the snapshot could not
    /// be journaled or replayed.
    #[error("snapshot not representable as canonical JSON: {reason}")]
    NotCanonical {
        /// Which field of which host or rollout, and its value.
        reason: String,
    },
    /// More hosts, strings or text than the ABI's 32-bit ids and offsets address.
    #[error("snapshot too large for the policy ABI: {what}")]
    TooLarge {
        /// Which part overflowed.
        what: &'static str,
    },
}

/// The fleet at one tick: hosts sorted by name (unique), each host's tags sorted and
/// deduplicated, and the active rollouts; with its columnar encoding and its sha256.
///
/// `sha256` covers the columnar encoding the guest receives (string table, host columns,
/// tags) and the canonical JSON of the active rollouts, in the byte layout
/// `docs/policy-abi.md` specifies; the encoding is a function of the hosts, so the hash
/// names the snapshot. `convoy audit replay` recomputes it from a journaled call.
#[derive(Debug, Clone)]
pub struct Snapshot {
    active: Vec<Rollout>,
    strings: Strings,
    columns: Columns,
    tags: Vec<u32>,
    /// Per `str-id`: the host it names, or [`NO_STR`] (the name index of
    /// [`Snapshot::position`], which the by-name calls run once per candidate).
    host_of: Vec<u32>,
    sha256: Sha256Digest,
}

/// Candidate host names resolved against a [`Snapshot`] ([`Snapshot::candidates`]).
#[derive(Debug, Clone)]
pub struct NamedCandidates<'n> {
    names: &'n [String],
    resolved: Vec<Option<u32>>,
    ids: Vec<u32>,
}

impl NamedCandidates<'_> {
    /// The host-ids of the names that are in the snapshot, in candidate order.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The verdict a gate gave on [`NamedCandidates::ids`], on host names: the policy's
    /// decisions, and the runtime's refusal ("`name` is not in the fleet snapshot") of
    /// every name not in the snapshot, merged in candidate order.
    pub fn name_verdict(&self, snapshot: &Snapshot, out: &VerdictOut) -> Verdict {
        crate::validate::named_verdict(self.names, &self.resolved, snapshot, out)
    }
}

/// `types.host-columns`, owned.
#[derive(Debug, Clone, Default)]
struct Columns {
    name: Vec<u32>,
    channel: Vec<u32>,
    tags_end: Vec<u32>,
    current_closure: Vec<u32>,
    target_closure: Vec<u32>,
    phase: Vec<u8>,
    phase_since: Vec<u64>,
    last_seen: Vec<u64>,
    rollout: Vec<u32>,
}

impl Snapshot {
    /// Sorts (by name; each host's tags too), checks, encodes and hashes `hosts` and
    /// `active`. The hosts are read, not kept: the snapshot is its encoding.
    pub fn new(hosts: &[Host], active: Vec<Rollout>) -> Result<Snapshot, SnapshotError> {
        let mut sorted: Vec<&Host> = hosts.iter().collect();
        if !sorted.windows(2).all(|w| w[0].name < w[1].name) {
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            if let Some(w) = sorted.windows(2).find(|w| w[0].name == w[1].name) {
                return Err(SnapshotError::DuplicateHost {
                    name: w[0].name.clone(),
                });
            }
        }
        let (strings, columns, tags) = encode(&sorted)?;
        let sha256 = digest(&strings, &columns, &tags, &active)?;
        let mut host_of = vec![NO_STR; strings.ends.len()];
        for (id, &name) in (0u32..).zip(&columns.name) {
            host_of[name as usize] = id;
        }
        Ok(Snapshot {
            active,
            strings,
            columns,
            tags,
            host_of,
            sha256,
        })
    }

    /// How many hosts.
    pub fn len(&self) -> usize {
        self.columns.name.len()
    }

    /// Whether there is no host.
    pub fn is_empty(&self) -> bool {
        self.columns.name.is_empty()
    }

    /// sha256 of the snapshot's encoding: what every receipt of the tick names.
    pub fn sha256(&self) -> &Sha256Digest {
        &self.sha256
    }

    /// The `host-id` of the host called `name`: one lookup in the string table's index.
    pub fn position(&self, name: &str) -> Option<u32> {
        let host = *self.host_of.get(self.strings.find(name)? as usize)?;
        (host != NO_STR).then_some(host)
    }

    /// The plan a [`crate::CallBuilder::plan`] returned, on host names: its candidates
    /// named, their reasons resolved from the plan's table.
    pub fn name_plan(&self, out: &PlanOut) -> Plan {
        crate::validate::named_plan(self, out)
    }

    /// Resolves candidate host names (in priority order) to host-ids once: the ids go to
    /// [`crate::CallBuilder::admit`], and [`NamedCandidates::name_verdict`] names its
    /// verdict, refusing every name that is not in the snapshot in its place.
    pub fn candidates<'n>(&self, names: &'n [String]) -> NamedCandidates<'n> {
        let resolved: Vec<Option<u32>> = names.iter().map(|c| self.position(c)).collect();
        let ids = resolved.iter().flatten().copied().collect();
        NamedCandidates {
            names,
            resolved,
            ids,
        }
    }

    /// The name of the host with `host-id` `id`.
    pub fn name(&self, id: u32) -> Option<&str> {
        let name = *self.columns.name.get(usize::try_from(id).ok()?)?;
        Some(Strings::get(&self.strings.text, &self.strings.ends, name))
    }

    /// The `str-id` of the channel of host `id`.
    pub(crate) fn channel_of(&self, id: u32) -> Option<u32> {
        self.columns.channel.get(usize::try_from(id).ok()?).copied()
    }

    /// The `str-id` of `s`, if a host uses that string.
    pub(crate) fn string_id(&self, s: &str) -> Option<u32> {
        self.strings.find(s)
    }

    /// The columnar form lowered into the guest.
    pub(crate) fn wire(&self) -> SnapshotRef<'_> {
        let c = &self.columns;
        SnapshotRef {
            text: &self.strings.text,
            ends: &self.strings.ends,
            hosts: HostColumnsRef {
                name: &c.name,
                channel: &c.channel,
                tags_end: &c.tags_end,
                current_closure: &c.current_closure,
                target_closure: &c.target_closure,
                phase: &c.phase,
                phase_since: &c.phase_since,
                last_seen: &c.last_seen,
                rollout: &c.rollout,
            },
            tags: &self.tags,
            active: &self.active,
        }
    }
}

/// The snapshot hash (`docs/policy-abi.md`, "Snapshot hash"): sha256 over a domain tag,
/// then every list of `types.snapshot` in WIT field order — `text` (bytes), `ends`, the
/// nine host columns, `tags` — each as a little-endian u64 count followed by its items in
/// little-endian at their WIT width (u8, u32 or u64), and last the canonical JSON of the
/// active rollouts, length-prefixed the same way.
fn digest(
    strings: &Strings,
    c: &Columns,
    tags: &[u32],
    active: &[Rollout],
) -> Result<Sha256Digest, SnapshotError> {
    // Numbers beyond 2^53 - 1 in `active` are refused here, with their JSON path.
    let active =
        convoy_proto::json::canonical_bytes(active).map_err(|e| SnapshotError::NotCanonical {
            reason: e.to_string(),
        })?;
    let mut h = LeHash::new(SNAPSHOT_DOMAIN);
    h.bytes(strings.text.as_bytes());
    h.u32s(&strings.ends);
    h.u32s(&c.name);
    h.u32s(&c.channel);
    h.u32s(&c.tags_end);
    h.u32s(&c.current_closure);
    h.u32s(&c.target_closure);
    h.bytes(&c.phase);
    h.u64s(&c.phase_since);
    h.u64s(&c.last_seen);
    h.u32s(&c.rollout);
    h.u32s(tags);
    h.bytes(&active);
    Ok(h.finish())
}

/// The domain tag that starts every snapshot hash.
pub const SNAPSHOT_DOMAIN: &[u8] = b"convoy:policy/snapshot@1\n";

/// The columns of `types.snapshot`: string ids in order of first use, walking the hosts in
/// order (name, channel, tags sorted and without repeats, current closure, target closure,
/// rollout). Every timestamp must fit canonical JSON (so the call can be journaled and
/// replayed).
fn encode(hosts: &[&Host]) -> Result<(Strings, Columns, Vec<u32>), SnapshotError> {
    let n = hosts.len();
    u32::try_from(n).map_err(|_| too_large("hosts"))?;
    let mut strings = Strings::with_capacity(n);
    let mut c = Columns {
        name: Vec::with_capacity(n),
        channel: Vec::with_capacity(n),
        tags_end: Vec::with_capacity(n),
        current_closure: Vec::with_capacity(n),
        target_closure: Vec::with_capacity(n),
        phase: Vec::with_capacity(n),
        phase_since: Vec::with_capacity(n),
        last_seen: Vec::with_capacity(n),
        rollout: Vec::with_capacity(n),
    };
    let mut tags = Vec::with_capacity(n);
    // Neighbouring hosts mostly share their channel, closures and rollout: remembering the
    // previous host's answer spares a hash lookup per field.
    let mut recent: [Option<(&str, u32)>; 4] = [None; 4];
    fn id<'h>(
        strings: &mut Strings,
        recent: &mut Option<(&'h str, u32)>,
        s: Option<&'h str>,
    ) -> Result<u32, SnapshotError> {
        let Some(s) = s else { return Ok(NO_STR) };
        if let Some((last, id)) = *recent
            && last == s
        {
            return Ok(id);
        }
        let id = strings.intern(s)?;
        *recent = Some((s, id));
        Ok(id)
    }
    let safe = |host: &Host, field: &str, n: u64| {
        if n > MAX_SAFE_INTEGER {
            Err(SnapshotError::NotCanonical {
                reason: format!("host `{}`: {field} = {n} is beyond 2^53 - 1", host.name),
            })
        } else {
            Ok(n)
        }
    };
    let mut own: Vec<&str> = Vec::new();
    for &host in hosts {
        c.name.push(strings.intern(&host.name)?);
        c.channel
            .push(id(&mut strings, &mut recent[0], Some(&host.channel))?);
        own.clear();
        own.extend(host.tags.iter().map(String::as_str));
        if !own.windows(2).all(|w| w[0] < w[1]) {
            own.sort_unstable();
            own.dedup();
        }
        for tag in &own {
            tags.push(strings.intern(tag)?);
        }
        c.tags_end
            .push(u32::try_from(tags.len()).map_err(|_| too_large("tags"))?);
        c.current_closure.push(id(
            &mut strings,
            &mut recent[1],
            host.current_closure.as_deref(),
        )?);
        c.target_closure.push(id(
            &mut strings,
            &mut recent[2],
            host.target_closure.as_deref(),
        )?);
        c.phase.push(host.phase as u8);
        c.phase_since
            .push(safe(host, "phase_since", host.phase_since)?);
        // At most 2^53 - 1 (checked), so the sentinel is free.
        c.last_seen.push(match host.last_seen {
            Some(seen) => safe(host, "last_seen", seen)?,
            None => NO_TIME,
        });
        c.rollout
            .push(id(&mut strings, &mut recent[3], host.rollout.as_deref())?);
    }
    Ok((strings, c, tags))
}

fn too_large(what: &'static str) -> SnapshotError {
    SnapshotError::TooLarge { what }
}

/// The string table: `text`, `ends`, and an index from a string to its id.
#[derive(Debug, Clone, Default)]
struct Strings {
    text: String,
    ends: Vec<u32>,
    index: HashTable<u32>,
}

fn str_hash(s: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x636f_6e76_6f79).hash_one(s)
}

impl Strings {
    fn with_capacity(n: usize) -> Self {
        Strings {
            text: String::with_capacity(n * 16),
            ends: Vec::with_capacity(n + 16),
            index: HashTable::with_capacity(n + 16),
        }
    }

    fn get<'t>(text: &'t str, ends: &[u32], id: u32) -> &'t str {
        let i = id as usize;
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        &text[start..ends[i] as usize]
    }

    fn find(&self, s: &str) -> Option<u32> {
        let (text, ends) = (&self.text, &self.ends);
        self.index
            .find(str_hash(s), |&id| Self::get(text, ends, id) == s)
            .copied()
    }

    /// The id of `s`, given now if it is new.
    fn intern(&mut self, s: &str) -> Result<u32, SnapshotError> {
        let hash = str_hash(s);
        let Strings { text, ends, index } = self;
        if let Some(&id) = index.find(hash, |&id| Self::get(text, ends, id) == s) {
            return Ok(id);
        }
        let id = u32::try_from(ends.len()).map_err(|_| too_large("strings"))?;
        text.push_str(s);
        ends.push(u32::try_from(text.len()).map_err(|_| too_large("text"))?);
        let (text, ends) = (&*text, &*ends);
        index.insert_unique(hash, id, |&id| str_hash(Self::get(text, ends, id)));
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::abi::types::{HostPhase, RolloutState};

    fn host(name: &str, tags: &[&str], closure: Option<&str>) -> Host {
        Host {
            name: name.into(),
            channel: "prod".into(),
            tags: tags.iter().map(|t| (*t).into()).collect(),
            current_closure: closure.map(Into::into),
            target_closure: Some("/nix/store/b".into()),
            phase: HostPhase::Idle,
            phase_since: 5,
            last_seen: None,
            rollout: None,
        }
    }

    fn rollout() -> Rollout {
        Rollout {
            id: "r1".into(),
            channel: "prod".into(),
            target_version: 3,
            current_wave: 0,
            started_at: 1,
            wave_started_at: 2,
            state: RolloutState::Running,
        }
    }

    #[test]
    fn sorts_and_interns_in_first_use_order() {
        let hosts = vec![
            host("web", &["web", "eu"], Some("/nix/store/b")),
            host("db", &["eu"], None),
        ];
        let s = Snapshot::new(&hosts, vec![rollout()]).unwrap();
        assert_eq!(
            (s.name(0), s.name(1), s.name(2)),
            (Some("db"), Some("web"), None)
        );
        // db, prod, eu, /nix/store/b, web (name; then its tag "web" is the same string).
        assert_eq!(s.strings.text, "dbprodeu/nix/store/bweb");
        assert_eq!(s.strings.ends, [2, 6, 8, 20, 23]);
        assert_eq!(s.tags, [2, 2, 4]);
        let c = &s.columns;
        assert_eq!(c.name, [0, 4]);
        assert_eq!(c.channel, [1, 1]);
        assert_eq!(c.tags_end, [1, 3]);
        assert_eq!(c.current_closure, [NO_STR, 3]);
        assert_eq!(c.target_closure, [3, 3]);
        assert_eq!(c.phase, [0, 0]);
        assert_eq!(c.phase_since, [5, 5]);
        assert_eq!(c.last_seen, [NO_TIME, NO_TIME]);
        assert_eq!(c.rollout, [NO_STR, NO_STR]);
        assert_eq!(s.string_id("eu"), Some(2));
        assert_eq!(s.position("eu"), None, "a tag is not a host");
        assert_eq!(s.position("web"), Some(1));
        assert_eq!(s.position("nope"), None);
    }

    #[test]
    fn the_hash_names_the_snapshot_not_the_order_it_was_given_in() {
        let a = || host("a", &["x", "y"], Some("/nix/store/b"));
        let b = || host("b", &["y"], None);
        let one = Snapshot::new(&[a(), b()], vec![rollout()]).unwrap();
        let mut a_shuffled = a();
        a_shuffled.tags.reverse();
        let two = Snapshot::new(&[b(), a_shuffled], vec![rollout()]).unwrap();
        assert_eq!(one.sha256(), two.sha256());
        // Pinned, and recomputed independently from the layout of docs/policy-abi.md
        // ("Snapshot hash") with a few lines of Python: the format must not drift.
        assert_eq!(
            one.sha256().to_string(),
            "d0be5783ebd57460d3f86125dbfbb945c704022242d72100dd4a24481a623bd2"
        );
        // Every field is covered.
        let changes: [fn(&mut Host); 9] = [
            |h| h.name.push('z'),
            |h| h.channel.push('z'),
            |h| h.tags.push("z".into()),
            |h| h.current_closure = None,
            |h| h.target_closure = Some("/nix/store/c".into()),
            |h| h.phase = HostPhase::Failed,
            |h| h.phase_since += 1,
            |h| h.last_seen = Some(0),
            |h| h.rollout = Some("r1".into()),
        ];
        for change in changes {
            let mut changed = a();
            change(&mut changed);
            let other = Snapshot::new(&[changed, b()], vec![rollout()]).unwrap();
            assert_ne!(one.sha256(), other.sha256());
        }
        let mut r = rollout();
        r.current_wave = 1;
        let other = Snapshot::new(&[a(), b()], vec![r]).unwrap();
        assert_ne!(one.sha256(), other.sha256());
        assert_eq!(one.position("b"), Some(1));
        assert_eq!(one.position("c"), None);
    }

    #[test]
    fn refuses_repeated_names_and_numbers_json_cannot_carry() {
        let err = Snapshot::new(&[host("a", &[], None), host("a", &[], None)], vec![]);
        assert_eq!(
            err.unwrap_err(),
            SnapshotError::DuplicateHost { name: "a".into() }
        );
        let mut late = host("a", &[], None);
        late.phase_since = u64::MAX;
        let err = Snapshot::new(&[late], vec![]).unwrap_err();
        assert!(
            matches!(&err, SnapshotError::NotCanonical { reason } if reason.contains("host `a`: phase_since")),
            "{err}"
        );
        let mut r = rollout();
        r.target_version = u64::MAX;
        let err = Snapshot::new(&[host("a", &[], None)], vec![r]).unwrap_err();
        assert!(
            matches!(&err, SnapshotError::NotCanonical { reason } if reason.contains("target_version")),
            "{err}"
        );
    }

    /// The guest SDK builds the same encoding natively (`convoy_policy_sdk::Snapshot::new`,
    /// what native tests and the benchmark's baseline run on): both must agree column by
    /// column, or native results would not be the guests'.
    #[test]
    fn the_sdk_encodes_hosts_exactly_as_the_runtime_does() {
        let mut hosts = vec![
            host("web", &["web", "eu", "web"], Some("/nix/store/b")),
            host("db", &["eu"], None),
            host("cache", &[], Some("/nix/store/old")),
        ];
        hosts[1].phase = HostPhase::Failed;
        hosts[1].last_seen = Some(9);
        hosts[2].rollout = Some("r1".into());
        let ours = Snapshot::new(&hosts, vec![rollout()]).unwrap();
        let sdk_hosts = serde_json::from_value(serde_json::to_value(&hosts).unwrap()).unwrap();
        let theirs = convoy_policy_sdk::Snapshot::new(sdk_hosts, vec![]);
        let (a, b) = (&ours.columns, theirs.columns());
        assert_eq!(a.name, b.name);
        assert_eq!(a.channel, b.channel);
        assert_eq!(a.tags_end, b.tags_end);
        assert_eq!(a.current_closure, b.current_closure);
        assert_eq!(a.target_closure, b.target_closure);
        assert_eq!(a.phase, b.phase);
        assert_eq!(a.phase_since, b.phase_since);
        assert_eq!(a.last_seen, b.last_seen);
        assert_eq!(a.rollout, b.rollout);
        for id in 0..3u32 {
            let sdk = theirs
                .host(convoy_policy_sdk::HostId(id))
                .expect("in the snapshot");
            assert_eq!(ours.name(id), Some(sdk.name));
            let tags: Vec<&str> = sdk.tags.iter().collect();
            let from = if id == 0 {
                0
            } else {
                a.tags_end[id as usize - 1]
            };
            let ours_tags: Vec<&str> = ours.tags[from as usize..a.tags_end[id as usize] as usize]
                .iter()
                .map(|&t| Strings::get(&ours.strings.text, &ours.strings.ends, t))
                .collect();
            assert_eq!(ours_tags, tags);
        }
    }
}
