//! The fleet snapshot of one tick: what the rollout and gate worlds see, built once and
//! shared by every call of the tick.
//!
//! A [`Snapshot`] keeps the hosts in their JSON form (sorted by name, tags sorted) next to
//! their columnar encoding (`types.snapshot` in `wit/`): every distinct string once in a
//! string table, hosts as rows of string ids. Lowering that into a fresh instance is a
//! handful of block copies, however many hosts there are, where a `list<host>` would cost
//! one guest allocation call per string. Its [`Snapshot::sha256`] is computed once, here;
//! every receipt of the tick names it instead of re-hashing 10,000 hosts per call.

use std::collections::HashMap;
use std::hash::BuildHasher;

use convoy_proto::Sha256Digest;
use convoy_proto::json::MAX_SAFE_INTEGER;
use hashbrown::HashTable;
use sha2::Digest;

use crate::abi::types::{Host, Rollout};
use crate::abi::wire::{HostRow, SnapshotRef};

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
/// `sha256` covers the columnar encoding the guest receives (string table, rows, tags)
/// and the canonical JSON of the active rollouts, in the byte layout `docs/policy-abi.md`
/// specifies; the encoding is a function of the hosts, so the hash names the snapshot.
/// `convoy audit replay` recomputes it from a journaled call.
#[derive(Debug, Clone)]
pub struct Snapshot {
    hosts: Vec<Host>,
    active: Vec<Rollout>,
    text: String,
    ends: Vec<u32>,
    rows: Vec<HostRow>,
    tags: Vec<u32>,
    /// Host-ids, found by their name's hash (the names themselves are in `hosts`).
    by_name: HashTable<u32>,
    sha256: Sha256Digest,
}

fn name_hash(name: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x636f_6e76_6f79).hash_one(name)
}

impl Snapshot {
    /// Sorts, checks, encodes and hashes `hosts` and `active`.
    pub fn new(mut hosts: Vec<Host>, active: Vec<Rollout>) -> Result<Snapshot, SnapshotError> {
        if !hosts.windows(2).all(|w| w[0].name < w[1].name) {
            hosts.sort_by(|a, b| a.name.cmp(&b.name));
            if let Some(w) = hosts.windows(2).find(|w| w[0].name == w[1].name) {
                return Err(SnapshotError::DuplicateHost {
                    name: w[0].name.clone(),
                });
            }
        }
        for host in &mut hosts {
            if !host.tags.windows(2).all(|w| w[0] < w[1]) {
                host.tags.sort();
                host.tags.dedup();
            }
        }
        check_numbers(&hosts, &active)?;
        let (text, ends, rows, tags) = encode(&hosts)?;
        let sha256 = digest(&text, &ends, &rows, &tags, &active)?;
        // `encode` checked that every position fits a u32.
        let mut by_name = HashTable::with_capacity(hosts.len());
        for (id, host) in (0u32..).zip(&hosts) {
            by_name.insert_unique(name_hash(&host.name), id, |&i| {
                name_hash(&hosts[i as usize].name)
            });
        }
        Ok(Snapshot {
            hosts,
            active,
            text,
            ends,
            rows,
            tags,
            by_name,
            sha256,
        })
    }

    /// The hosts, sorted by name; a host's [`Snapshot::position`] is its `host-id`.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The active rollouts.
    pub fn active(&self) -> &[Rollout] {
        &self.active
    }

    /// sha256 of the snapshot's encoding: what every receipt of the tick names.
    pub fn sha256(&self) -> &Sha256Digest {
        &self.sha256
    }

    /// The `host-id` of the host called `name`.
    pub fn position(&self, name: &str) -> Option<u32> {
        self.by_name
            .find(name_hash(name), |&id| self.hosts[id as usize].name == name)
            .copied()
    }

    /// The host with `host-id` `id`.
    pub fn host(&self, id: u32) -> Option<&Host> {
        self.hosts.get(usize::try_from(id).ok()?)
    }

    /// The columnar form lowered into the guest.
    pub(crate) fn wire(&self) -> SnapshotRef<'_> {
        SnapshotRef {
            text: &self.text,
            ends: &self.ends,
            hosts: &self.rows,
            tags: &self.tags,
            active: &self.active,
        }
    }
}

/// Every number of the snapshot fits canonical JSON (so it can be journaled and replayed).
fn check_numbers(hosts: &[Host], active: &[Rollout]) -> Result<(), SnapshotError> {
    let check = |what: &dyn Fn() -> String, n: u64| {
        if n > MAX_SAFE_INTEGER {
            Err(SnapshotError::NotCanonical {
                reason: format!("{} = {n} is beyond 2^53 - 1", what()),
            })
        } else {
            Ok(())
        }
    };
    for h in hosts {
        check(&|| format!("host `{}`: phase_since", h.name), h.phase_since)?;
        if let Some(seen) = h.last_seen {
            check(&|| format!("host `{}`: last_seen", h.name), seen)?;
        }
    }
    for r in active {
        for (field, n) in [
            ("target_version", r.target_version),
            ("started_at", r.started_at),
            ("wave_started_at", r.wave_started_at),
        ] {
            check(&|| format!("rollout `{}`: {field}", r.id), n)?;
        }
    }
    Ok(())
}

/// The snapshot hash (`docs/policy-abi.md`, "Snapshot hash"): sha256 over a domain tag,
/// then each column as a little-endian u64 count followed by its items in little-endian
/// fixed width — `text` (bytes), `ends` (u32), `hosts` (48-byte rows), `tags` (u32) — and
/// last the canonical JSON of the active rollouts, length-prefixed the same way.
fn digest(
    text: &str,
    ends: &[u32],
    rows: &[HostRow],
    tags: &[u32],
    active: &[Rollout],
) -> Result<Sha256Digest, SnapshotError> {
    fn count(h: &mut sha2::Sha256, n: usize) {
        h.update((n as u64).to_le_bytes());
    }
    fn words(h: &mut sha2::Sha256, items: &[u32]) {
        count(h, items.len());
        let mut buf = Vec::with_capacity(items.len() * 4);
        for w in items {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        h.update(&buf);
    }
    fn opt32(buf: &mut Vec<u8>, v: Option<u32>) {
        buf.extend_from_slice(&v.map_or(0, |v| v.wrapping_add(1)).to_le_bytes());
    }
    let mut h = sha2::Sha256::new();
    h.update(SNAPSHOT_DOMAIN);
    count(&mut h, text.len());
    h.update(text.as_bytes());
    words(&mut h, ends);
    count(&mut h, rows.len());
    let mut buf = Vec::with_capacity(rows.len() * ROW_BYTES);
    for r in rows {
        for w in [r.name, r.channel, r.tags_from, r.tags_count] {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        opt32(&mut buf, r.current_closure);
        opt32(&mut buf, r.target_closure);
        opt32(&mut buf, r.rollout);
        buf.extend_from_slice(&(r.phase as u32).to_le_bytes());
        buf.extend_from_slice(&r.phase_since.to_le_bytes());
        // `last-seen` is at most 2^53 - 1 (checked), so u64::MAX is free for `none`.
        buf.extend_from_slice(&r.last_seen.unwrap_or(u64::MAX).to_le_bytes());
    }
    h.update(&buf);
    words(&mut h, tags);
    let active =
        convoy_proto::json::canonical_bytes(active).map_err(|e| SnapshotError::NotCanonical {
            reason: e.to_string(),
        })?;
    count(&mut h, active.len());
    h.update(&active);
    Ok(Sha256Digest::from_bytes(h.finalize().into()))
}

/// The domain tag that starts every snapshot hash.
pub const SNAPSHOT_DOMAIN: &[u8] = b"convoy:policy/snapshot@1\n";
const ROW_BYTES: usize = 48;

type Encoded = (String, Vec<u32>, Vec<HostRow>, Vec<u32>);

/// The columns of `types.snapshot`: string ids in order of first use, walking the hosts in
/// order (name, channel, tags, current closure, target closure, rollout).
fn encode(hosts: &[Host]) -> Result<Encoded, SnapshotError> {
    let mut table = Interner::default();
    let mut rows = Vec::with_capacity(hosts.len());
    let mut tags = Vec::new();
    for host in hosts {
        let name = table.id(&host.name)?;
        let channel = table.id(&host.channel)?;
        let tags_from = u32::try_from(tags.len()).map_err(|_| too_large("tags"))?;
        for tag in &host.tags {
            tags.push(table.id(tag)?);
        }
        let tags_count = u32::try_from(host.tags.len()).map_err(|_| too_large("tags"))?;
        let current_closure = host
            .current_closure
            .as_deref()
            .map(|s| table.id(s))
            .transpose()?;
        let target_closure = host
            .target_closure
            .as_deref()
            .map(|s| table.id(s))
            .transpose()?;
        let rollout = host.rollout.as_deref().map(|s| table.id(s)).transpose()?;
        rows.push(HostRow {
            name,
            channel,
            tags_from,
            tags_count,
            current_closure,
            target_closure,
            phase: host.phase,
            phase_since: host.phase_since,
            last_seen: host.last_seen,
            rollout,
        });
    }
    u32::try_from(rows.len()).map_err(|_| too_large("hosts"))?;
    Ok((table.text, table.ends, rows, tags))
}

fn too_large(what: &'static str) -> SnapshotError {
    SnapshotError::TooLarge { what }
}

/// Strings to ids, first use first.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, u32, foldhash::fast::FixedState>,
    text: String,
    ends: Vec<u32>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> Result<u32, SnapshotError> {
        if let Some(&id) = self.ids.get(s) {
            return Ok(id);
        }
        let id = u32::try_from(self.ends.len()).map_err(|_| too_large("strings"))?;
        self.text.push_str(s);
        self.ends
            .push(u32::try_from(self.text.len()).map_err(|_| too_large("text"))?);
        self.ids.insert(s, id);
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
    fn sorts_interns_in_first_use_order_and_hashes_the_plain_json() {
        let hosts = vec![
            host("web", &["web", "eu"], Some("/nix/store/b")),
            host("db", &["eu"], None),
        ];
        let s = Snapshot::new(hosts, vec![rollout()]).unwrap();
        assert_eq!(
            s.hosts().iter().map(|h| &h.name[..]).collect::<Vec<_>>(),
            ["db", "web"]
        );
        assert_eq!(s.hosts()[1].tags, ["eu", "web"]);
        // db, prod, eu, /nix/store/b, web (name; then its tag "web" is the same string).
        assert_eq!(s.text, "dbprodeu/nix/store/bweb");
        assert_eq!(s.ends, [2, 6, 8, 20, 23]);
        assert_eq!(s.tags, [2, 2, 4]);
        assert_eq!(s.rows[1].name, 4);
        assert_eq!(s.rows[1].current_closure, Some(3));
        assert_eq!(s.rows[1].target_closure, Some(3));
        assert_eq!(s.rows[1].tags_from, 1);
        assert_eq!(s.rows[1].tags_count, 2);
        assert_eq!(s.position("web"), Some(1));
        assert_eq!(s.position("nope"), None);
    }

    #[test]
    fn the_hash_names_the_snapshot_not_the_order_it_was_given_in() {
        let a = || host("a", &["x", "y"], Some("/nix/store/b"));
        let b = || host("b", &["y"], None);
        let one = Snapshot::new(vec![a(), b()], vec![rollout()]).unwrap();
        let mut a_shuffled = a();
        a_shuffled.tags.reverse();
        let two = Snapshot::new(vec![b(), a_shuffled], vec![rollout()]).unwrap();
        assert_eq!(one.sha256(), two.sha256());
        // Pinned, and recomputed independently from the layout of docs/policy-abi.md
        // ("Snapshot hash") with a few lines of Python: the format must not drift.
        assert_eq!(
            one.sha256().to_string(),
            "3a38893b1d6177171e46a3eaaf3435c1dbee24522282e2ca2854cfeaaea6737a"
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
            let other = Snapshot::new(vec![changed, b()], vec![rollout()]).unwrap();
            assert_ne!(one.sha256(), other.sha256());
        }
        let mut r = rollout();
        r.current_wave = 1;
        let other = Snapshot::new(vec![a(), b()], vec![r]).unwrap();
        assert_ne!(one.sha256(), other.sha256());
        assert_eq!(one.position("b"), Some(1));
        assert_eq!(one.position("c"), None);
    }

    #[test]
    fn refuses_repeated_names_and_numbers_json_cannot_carry() {
        let err = Snapshot::new(vec![host("a", &[], None), host("a", &[], None)], vec![]);
        assert_eq!(
            err.unwrap_err(),
            SnapshotError::DuplicateHost { name: "a".into() }
        );
        let mut late = host("a", &[], None);
        late.phase_since = u64::MAX;
        let err = Snapshot::new(vec![late], vec![]).unwrap_err();
        assert!(
            matches!(&err, SnapshotError::NotCanonical { reason } if reason.contains("host `a`: phase_since")),
            "{err}"
        );
    }
}
