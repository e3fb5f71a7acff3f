//! The fleet as the rollout and gate worlds see it: one [`Snapshot`] in the ABI's columns.
//!
//! The host encodes the fleet once per tick as a string table and columns of string ids
//! and numbers (WIT `snapshot` and `host-columns`) and names hosts by [`HostId`], their
//! position in the snapshot. The SDK keeps the hosts in those columns ([`Columns`]), as
//! they arrived. A policy reads hosts as [`HostRef`] views whose strings borrow from the
//! table, so reading a 10,000-host fleet allocates nothing per host — in the guest or
//! natively. Natively, [`Snapshot::new`] builds exactly the encoding the host sends.
//!
//! A snapshot comes from outside the sandbox, so reading one never panics: a string id
//! past the table, or whose offsets are out of order, past `text` or inside a UTF-8
//! character, reads as `""`; a tag run past `tags` reads as no tags; a host id past the
//! hosts is `None`. Host columns of unequal length, out-of-order tag ends and unknown
//! phases have their own rules ([`Columns`]). The host sends hosts sorted by name, which
//! [`Snapshot::position`] relies on: in an unsorted snapshot it may not find a host that
//! is there.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::selector::SelectorSubject;
use crate::types::{self, Host, HostPhase, Rollout, Timestamp};

/// A host of a [`Snapshot`]: its position in the snapshot's hosts, from 0 (WIT `host-id`).
/// Ids are only meaningful with the snapshot they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostId(pub u32);

impl HostId {
    /// The position in the snapshot's hosts, for indexing per-host tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A string of a [`Snapshot`]'s string table, by position (WIT `str-id`). In a well-formed
/// snapshot two equal strings have the same id, so comparing ids compares strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StrId(pub u32);

/// The fleet at one tick, in columns (WIT `snapshot`): every distinct string once in a
/// table, every host an entry of each of the [`Columns`] (string ids and numbers), sorted
/// by name, plus the active rollouts. A snapshot is built ([`Snapshot::new`]) or lifted
/// from the ABI ([`Snapshot::from_columns`]), never parsed: calls in JSON name hosts
/// instead ([`crate::call`]).
///
/// String `i` is `text[start(i) .. ends[i]]` with `start(0) = 0` and `start(i) =
/// ends[i - 1]`.
///
/// ```
/// use convoy_policy_sdk::{Host, HostPhase, Snapshot};
///
/// let host = |name: &str| Host {
///     name: name.into(),
///     channel: "prod".into(),
///     tags: vec!["web".into()],
///     current_closure: None,
///     target_closure: Some("/nix/store/new".into()),
///     phase: HostPhase::Idle,
///     phase_since: 0,
///     last_seen: None,
///     rollout: None,
/// };
/// let snapshot = Snapshot::new(vec![host("web2"), host("web1")], vec![]);
/// let web2 = snapshot.position("web2").expect("in the snapshot");
/// assert_eq!(web2.index(), 1); // sorted by name
/// let view = snapshot.host(web2).expect("in the snapshot");
/// assert_eq!((view.name, view.channel), ("web2", "prod"));
/// assert!(view.tags.contains("web"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    text: String,
    ends: Vec<u32>,
    columns: Columns,
    /// How many hosts: the length of the shortest column.
    len: usize,
    tags: Vec<StrId>,
    active: Vec<Rollout>,
}

/// The hosts of a snapshot as the ABI's columns (WIT `host-columns`), owned: entry `i` of
/// every column describes host `i`. The SDK keeps hosts this way, so a snapshot lifted
/// from the ABI is used as it arrived, without a pass over its hosts.
///
/// An absent value is [`Self::ABSENT_STR`] or [`Self::ABSENT_TIMESTAMP`]; a phase is the
/// case index of [`HostPhase`]. The columns come from outside the sandbox, and a
/// [`Snapshot`] reads malformed ones by these rules (never a panic):
///
/// - Columns of unequal length: the hosts are as many as the shortest column has
///   entries, and the extra entries of the longer ones are ignored. Only trailing hosts
///   drop out, so every id that is read names the same host it was meant to.
/// - `tags_end` out of order or past the snapshot's tags: a host's run starts at the
///   previous entry as given and counts `end - start`, floored at 0, so a decreasing
///   entry gives that host no tags, and a run past the tags reads as no tags.
/// - In `name` or `channel`, a string id past the table reads as `""`.
/// - A phase byte that names no case of `host-phase` (above 9) reads as
///   [`HostPhase::Quarantined`]: a host in an unknown phase is never dispatched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Unique host names.
    pub name: Vec<u32>,
    /// The channels the hosts follow.
    pub channel: Vec<u32>,
    /// End of each host's run in the snapshot's tags (it starts at the previous end).
    pub tags_end: Vec<u32>,
    /// Closures the hosts reported running, or [`Self::ABSENT_STR`].
    pub current_closure: Vec<u32>,
    /// Closures the signed artifact assigns to the hosts, or [`Self::ABSENT_STR`].
    pub target_closure: Vec<u32>,
    /// Rollout phases, by case index.
    pub phase: Vec<u8>,
    /// When each host entered its phase.
    pub phase_since: Vec<Timestamp>,
    /// Last authenticated check-ins, or [`Self::ABSENT_TIMESTAMP`].
    pub last_seen: Vec<Timestamp>,
    /// Rollouts that dispatched the hosts' current steps, or [`Self::ABSENT_STR`].
    pub rollout: Vec<u32>,
}

impl Columns {
    /// An absent value of a string column (`current_closure`, `target_closure`, `rollout`).
    pub const ABSENT_STR: u32 = u32::MAX;

    /// An absent value of the `last_seen` column.
    pub const ABSENT_TIMESTAMP: Timestamp = u64::MAX;

    fn with_capacity(n: usize) -> Columns {
        Columns {
            name: Vec::with_capacity(n),
            channel: Vec::with_capacity(n),
            tags_end: Vec::with_capacity(n),
            current_closure: Vec::with_capacity(n),
            target_closure: Vec::with_capacity(n),
            phase: Vec::with_capacity(n),
            phase_since: Vec::with_capacity(n),
            last_seen: Vec::with_capacity(n),
            rollout: Vec::with_capacity(n),
        }
    }

    /// How many hosts the columns describe: the length of the shortest column.
    pub fn len(&self) -> usize {
        [
            self.name.len(),
            self.channel.len(),
            self.tags_end.len(),
            self.current_closure.len(),
            self.target_closure.len(),
            self.phase.len(),
            self.phase_since.len(),
            self.last_seen.len(),
            self.rollout.len(),
        ]
        .into_iter()
        .min()
        .unwrap_or(0)
    }

    /// Whether the columns describe no host.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The phase whose WIT case index is `case`. An index past the enum cannot come from a
/// correct host; it reads as `Quarantined`, the most conservative phase (never dispatched,
/// never counted as converged), rather than as a phase that lets work proceed.
fn phase_of_case(case: u8) -> HostPhase {
    match case {
        0 => HostPhase::Idle,
        1 => HostPhase::Dispatched,
        2 => HostPhase::Activating,
        3 => HostPhase::ConfirmWindow,
        4 => HostPhase::Healthy,
        5 => HostPhase::Soaked,
        6 => HostPhase::Converged,
        7 => HostPhase::Failed,
        8 => HostPhase::Reverted,
        _ => HostPhase::Quarantined,
    }
}

impl Snapshot {
    /// Encodes `hosts` and `active` exactly as the host does: hosts sorted by name (byte
    /// order), the first host of a repeated name kept (in `hosts`' order) and the others
    /// dropped, each host's tags sorted and deduplicated, and every string given an id in
    /// order of first use, walking the sorted hosts: name, channel, tags, current closure,
    /// target closure, rollout.
    ///
    /// The ABI's ids and offsets are `u32`: past 2³² hosts or 4 GiB of strings the
    /// encoding saturates and the extra hosts or strings are not read back faithfully.
    pub fn new(mut hosts: Vec<Host>, active: Vec<Rollout>) -> Snapshot {
        // Stable: of hosts with the same name, the first in `hosts` comes first and stays.
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        hosts.dedup_by(|later, kept| later.name == kept.name);

        let mut table = Interner::default();
        let mut c = Columns::with_capacity(hosts.len());
        let mut tags = Vec::new();
        for h in &hosts {
            // Strings are interned in the ABI's order of first use.
            c.name.push(table.intern(&h.name).0);
            c.channel.push(table.intern(&h.channel).0);
            let mut own: Vec<&str> = h.tags.iter().map(String::as_str).collect();
            own.sort_unstable();
            own.dedup();
            tags.extend(own.iter().map(|t| table.intern(t)));
            c.tags_end.push(saturating_u32(tags.len()));
            c.current_closure
                .push(table.intern_optional(&h.current_closure));
            c.target_closure
                .push(table.intern_optional(&h.target_closure));
            c.rollout.push(table.intern_optional(&h.rollout));
            c.phase.push(h.phase as u8);
            c.phase_since.push(h.phase_since);
            c.last_seen
                .push(h.last_seen.unwrap_or(Columns::ABSENT_TIMESTAMP));
        }
        Snapshot::from_columns(table.text, table.ends, c, tags, active)
    }

    /// A snapshot from its parts as they crossed the ABI, taken as they are: nothing is
    /// checked or copied (reading is total: see the module documentation, and [`Columns`]
    /// for malformed columns).
    pub fn from_columns(
        text: String,
        ends: Vec<u32>,
        columns: Columns,
        tags: Vec<StrId>,
        active: Vec<Rollout>,
    ) -> Snapshot {
        Snapshot {
            len: columns.len(),
            text,
            ends,
            columns,
            tags,
            active,
        }
    }

    /// How many hosts the fleet has.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the fleet has no host.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The host `id`, or `None` if the snapshot has no such host.
    pub fn host(&self, id: HostId) -> Option<HostRef<'_>> {
        (id.index() < self.len).then(|| self.view(id.index()))
    }

    /// The name of host `id`, or `None` if the snapshot has no such host.
    pub fn name(&self, id: HostId) -> Option<&str> {
        (id.index() < self.len).then(|| self.str(self.name_id(id.index())))
    }

    /// Every host, in the snapshot's order (by name).
    pub fn hosts(&self) -> impl ExactSizeIterator<Item = HostRef<'_>> {
        (0..self.len).map(|i| self.view(i))
    }

    /// The hosts following `channel`, in the snapshot's order. Other hosts are passed over
    /// on their channel alone, without reading the rest of their row.
    pub fn hosts_on<'s>(&'s self, channel: &'s str) -> impl Iterator<Item = HostRef<'s>> + 's {
        let column = &self.columns.channel[..self.len];
        // Interned: the hosts of one channel share one id, and the others mostly share a
        // few; compare strings only when the id is neither the last that matched nor the
        // last that did not.
        let (mut on, mut off) = (None, None);
        (0..self.len)
            .filter(move |&i| {
                let id = column[i];
                if on == Some(id) {
                    return true;
                }
                if off == Some(id) {
                    return false;
                }
                let matches = self.str(StrId(id)) == channel;
                *if matches { &mut on } else { &mut off } = Some(id);
                matches
            })
            .map(|i| self.view(i))
    }

    /// The id of the host called `name`: a binary search, since hosts are sorted by name.
    pub fn position(&self, name: &str) -> Option<HostId> {
        let names = &self.columns.name[..self.len];
        names
            .binary_search_by(|&id| self.str(StrId(id)).cmp(name))
            .ok()
            .map(host_id)
    }

    /// Every active rollout of the fleet.
    pub fn active(&self) -> &[Rollout] {
        &self.active
    }

    /// The hosts as the ABI's columns, as they arrived (a host's raw phase byte, say).
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    fn name_id(&self, i: usize) -> StrId {
        StrId(self.columns.name.get(i).copied().unwrap_or(u32::MAX))
    }

    /// String `id` of the table; `""` if the id or its offsets are bad.
    pub fn str(&self, id: StrId) -> &str {
        let i = id.0 as usize;
        let start = match i.checked_sub(1) {
            None => Some(0),
            Some(previous) => self.ends.get(previous).copied(),
        };
        match (start, self.ends.get(i)) {
            (Some(start), Some(&end)) => self.text.get(start as usize..end as usize),
            _ => None,
        }
        .unwrap_or("")
    }

    /// Host `i` (below `len`, so every column has its entry).
    fn view(&self, i: usize) -> HostRef<'_> {
        const ABSENT_STR: u32 = Columns::ABSENT_STR;
        const ABSENT_TIMESTAMP: Timestamp = Columns::ABSENT_TIMESTAMP;
        let c = &self.columns;
        let at = |column: &[u32]| column.get(i).copied().unwrap_or(ABSENT_STR);
        let opt = |column: &[u32]| Some(at(column)).filter(|&s| s != ABSENT_STR).map(StrId);
        let start = i
            .checked_sub(1)
            .and_then(|p| c.tags_end.get(p))
            .copied()
            .unwrap_or(0);
        let end = c.tags_end.get(i).copied().unwrap_or(start);
        let tags = tag_run(&self.tags, start, end.saturating_sub(start));
        let current = opt(&c.current_closure);
        let target = opt(&c.target_closure);
        let last_seen = c.last_seen.get(i).copied().unwrap_or(ABSENT_TIMESTAMP);
        HostRef {
            id: host_id(i),
            name: self.str(StrId(at(&c.name))),
            channel: self.str(StrId(at(&c.channel))),
            tags: Tags {
                snapshot: self,
                ids: tags,
            },
            current_closure: current.map(|s| self.str(s)),
            target_closure: target.map(|s| self.str(s)),
            phase: phase_of_case(c.phase.get(i).copied().unwrap_or(u8::MAX)),
            phase_since: c.phase_since.get(i).copied().unwrap_or(0),
            last_seen: (last_seen != ABSENT_TIMESTAMP).then_some(last_seen),
            rollout: opt(&c.rollout).map(|s| self.str(s)),
            closures: (current, target),
        }
    }
}

/// `tags[from .. from + count]`, or no tags if that run is not inside `tags`.
fn tag_run(tags: &[StrId], from: u32, count: u32) -> &[StrId] {
    let from = from as usize;
    from.checked_add(count as usize)
        .and_then(|to| tags.get(from..to))
        .unwrap_or(&[])
}

/// Host positions are `u32` in the ABI; a snapshot read from the ABI never has more.
fn host_id(i: usize) -> HostId {
    HostId(saturating_u32(i))
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The string table under construction: ids in order of first use.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, StrId>,
    text: String,
    ends: Vec<u32>,
}

impl<'a> Interner<'a> {
    fn intern(&mut self, s: &'a str) -> StrId {
        *self.ids.entry(s).or_insert_with(|| {
            self.text.push_str(s);
            self.ends.push(saturating_u32(self.text.len()));
            StrId(saturating_u32(self.ends.len() - 1))
        })
    }

    /// The id of an optional string as its column holds it.
    fn intern_optional(&mut self, s: &'a Option<String>) -> u32 {
        s.as_deref()
            .map_or(Columns::ABSENT_STR, |s| self.intern(s).0)
    }
}

/// One host of a [`Snapshot`], its strings borrowed from the snapshot's table: what
/// [`Host`] is to the health and attestation worlds, without an allocation. Only a
/// snapshot makes one ([`Snapshot::host`], [`Snapshot::hosts`]).
#[derive(Debug, Clone, Copy)]
pub struct HostRef<'a> {
    /// The host's id in its snapshot.
    pub id: HostId,
    /// Unique host name.
    pub name: &'a str,
    /// The channel the host follows.
    pub channel: &'a str,
    /// Tags from the fleet definition, sorted.
    pub tags: Tags<'a>,
    /// Closure the host reported running.
    pub current_closure: Option<&'a str>,
    /// Closure the signed artifact assigns to the host.
    pub target_closure: Option<&'a str>,
    /// Rollout phase.
    pub phase: HostPhase,
    /// When the host entered `phase`.
    pub phase_since: Timestamp,
    /// Last authenticated check-in.
    pub last_seen: Option<Timestamp>,
    /// Id of the rollout that dispatched the host's current step.
    pub rollout: Option<&'a str>,
    /// The current and target closures' string ids.
    closures: (Option<StrId>, Option<StrId>),
}

impl HostRef<'_> {
    /// Whether the host runs the closure the artifact assigns to it.
    pub fn on_target(&self) -> bool {
        match self.closures {
            // Interned: the same id is the same string. Different ids compare as strings,
            // so a snapshot that repeats a string still answers right.
            (Some(current), Some(target)) => {
                current == target || self.current_closure == self.target_closure
            }
            _ => false,
        }
    }

    /// On its target closure with nothing left to do (see [`Host::is_converged`]).
    pub fn is_converged(&self) -> bool {
        types::is_converged(self.on_target(), self.phase)
    }

    /// Seconds since the last check-in (see [`Host::silent_for`]).
    pub fn silent_for(&self, now: Timestamp) -> Option<u64> {
        types::silent_for(self.last_seen, now)
    }

    /// The host as an owned [`Host`] (for tests and tools; policies need not copy).
    pub fn to_host(&self) -> Host {
        Host {
            name: self.name.to_owned(),
            channel: self.channel.to_owned(),
            tags: self.tags.iter().map(str::to_owned).collect(),
            current_closure: self.current_closure.map(str::to_owned),
            target_closure: self.target_closure.map(str::to_owned),
            phase: self.phase,
            phase_since: self.phase_since,
            last_seen: self.last_seen,
            rollout: self.rollout.map(str::to_owned),
        }
    }
}

impl SelectorSubject for HostRef<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn channel(&self) -> &str {
        self.channel
    }
    fn has_tag(&self, tag: &str) -> bool {
        self.tags.contains(tag)
    }
}

/// A host's tags, read from its snapshot.
#[derive(Clone, Copy)]
pub struct Tags<'a> {
    snapshot: &'a Snapshot,
    ids: &'a [StrId],
}

impl<'a> Tags<'a> {
    /// The tags, in order (sorted).
    pub fn iter(self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let snapshot = self.snapshot;
        self.ids.iter().map(move |&id| snapshot.str(id))
    }

    /// Whether `tag` is one of them.
    pub fn contains(self, tag: &str) -> bool {
        self.iter().any(|t| t == tag)
    }

    /// How many tags.
    pub fn len(self) -> usize {
        self.ids.len()
    }

    /// Whether there is no tag.
    pub fn is_empty(self) -> bool {
        self.ids.is_empty()
    }
}

impl fmt::Debug for Tags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, channel: &str, tags: &[&str], current: Option<&str>) -> Host {
        Host {
            name: name.into(),
            channel: channel.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            current_closure: current.map(Into::into),
            target_closure: Some("/nix/store/new".into()),
            phase: HostPhase::Idle,
            phase_since: 1,
            last_seen: Some(2),
            rollout: None,
        }
    }

    fn strings(s: &Snapshot) -> Vec<&str> {
        (0..s.ends.len()).map(|i| s.str(StrId(i as u32))).collect()
    }

    #[test]
    fn encodes_in_the_order_the_abi_specifies() {
        let s = Snapshot::new(
            vec![
                host("web2", "prod", &["web", "eu"], Some("/nix/store/old")),
                host("db1", "prod", &["eu", "db", "eu"], None),
                host("db1", "staging", &[], None), // a repeated name: the first one stays
            ],
            vec![],
        );
        assert_eq!(
            strings(&s),
            [
                "db1",
                "prod",
                "db",
                "eu",
                "/nix/store/new",
                "web2",
                "web",
                "/nix/store/old"
            ]
        );
        assert_eq!(s.text, "db1proddbeu/nix/store/newweb2web/nix/store/old");
        assert_eq!(s.tags, [StrId(2), StrId(3), StrId(3), StrId(6)]);
        let names: Vec<&str> = s.hosts().map(|h| h.name).collect();
        assert_eq!(names, ["db1", "web2"]);
        let db1 = s.host(HostId(0)).expect("db1");
        assert_eq!(db1.channel, "prod");
        assert_eq!(db1.tags.iter().collect::<Vec<_>>(), ["db", "eu"]);
        assert_eq!(db1.to_host().tags, ["db", "eu"]);
        let web2 = s.host(HostId(1)).expect("web2");
        assert_eq!(web2.tags.iter().collect::<Vec<_>>(), ["eu", "web"]);
        assert_eq!(web2.current_closure, Some("/nix/store/old"));
        assert!(!web2.on_target());
        assert_eq!(s.position("web2"), Some(HostId(1)));
        assert_eq!(s.position("web3"), None);
        assert_eq!(s.name(HostId(0)), Some("db1"));
        assert!(s.host(HostId(2)).is_none());
    }

    #[test]
    fn on_target_compares_closures() {
        let s = Snapshot::new(
            vec![
                host("a", "prod", &[], Some("/nix/store/new")),
                host("b", "prod", &[], Some("/nix/store/old")),
                host("c", "prod", &[], None),
            ],
            vec![],
        );
        let on: Vec<bool> = s.hosts().map(|h| h.on_target()).collect();
        assert_eq!(on, [true, false, false]);
        assert!(s.host(HostId(0)).is_some_and(|h| h.is_converged()));
    }

    #[test]
    fn hosts_on_a_channel() {
        let s = Snapshot::new(
            vec![
                host("a", "prod", &[], None),
                host("b", "staging", &[], None),
                host("c", "prod", &[], None),
                host("d", "staging", &[], None),
                host("e", "canary", &[], None),
                host("f", "staging", &[], None),
                host("g", "prod", &[], None),
            ],
            vec![],
        );
        let on = |channel| -> Vec<&str> { s.hosts_on(channel).map(|h| h.name).collect() };
        assert_eq!(on("prod"), ["a", "c", "g"]);
        assert_eq!(on("staging"), ["b", "d", "f"]);
        assert_eq!(on("canary"), ["e"]);
        assert!(on("dev").is_empty());
        let ids: Vec<HostId> = s.hosts_on("prod").map(|h| h.id).collect();
        assert_eq!(ids, [HostId(0), HostId(2), HostId(6)]);
    }

    /// Columns of `n` hosts with every entry 0 (string 0, phase `idle`), to break one by one.
    fn zeros(n: usize) -> Columns {
        Columns {
            name: vec![0; n],
            channel: vec![0; n],
            tags_end: vec![0; n],
            current_closure: vec![0; n],
            target_closure: vec![0; n],
            phase: vec![0; n],
            phase_since: vec![0; n],
            last_seen: vec![0; n],
            rollout: vec![0; n],
        }
    }

    fn from_columns(text: &str, ends: Vec<u32>, columns: Columns, tags: &[u32]) -> Snapshot {
        let tags = tags.iter().copied().map(StrId).collect();
        Snapshot::from_columns(text.into(), ends, columns, tags, vec![])
    }

    #[test]
    fn well_formed_columns_read_as_hosts() {
        let columns = Columns {
            name: vec![0, 4],
            channel: vec![1, 1],
            tags_end: vec![2, 3],
            current_closure: vec![Columns::ABSENT_STR, 3],
            target_closure: vec![3, 3],
            phase: vec![0, 8],
            phase_since: vec![10, 20],
            last_seen: vec![Columns::ABSENT_TIMESTAMP, 30],
            rollout: vec![Columns::ABSENT_STR, 5],
        };
        // Strings: "a", "prod", "eu", "/nix/store/new", "b", "r1".
        let text = "aprodeu/nix/store/newbr1";
        let s = from_columns(text, vec![1, 5, 7, 21, 22, 24], columns, &[2, 1, 2]);
        let hosts: Vec<Host> = s.hosts().map(|h| h.to_host()).collect();
        assert_eq!(
            hosts,
            [
                Host {
                    name: "a".into(),
                    channel: "prod".into(),
                    tags: vec!["eu".into(), "prod".into()],
                    current_closure: None,
                    target_closure: Some("/nix/store/new".into()),
                    phase: HostPhase::Idle,
                    phase_since: 10,
                    last_seen: None,
                    rollout: None,
                },
                Host {
                    name: "b".into(),
                    channel: "prod".into(),
                    tags: vec!["eu".into()],
                    current_closure: Some("/nix/store/new".into()),
                    target_closure: Some("/nix/store/new".into()),
                    phase: HostPhase::Reverted,
                    phase_since: 20,
                    last_seen: Some(30),
                    rollout: Some("r1".into()),
                },
            ]
        );
        assert_eq!(s, Snapshot::new(hosts, vec![]), "the encoding of its hosts");
    }

    #[test]
    fn every_phase_reads_by_its_case_index() {
        let phases: Vec<HostPhase> = (0..=u8::MAX).map(phase_of_case).collect();
        assert_eq!(
            phases[..10],
            [
                HostPhase::Idle,
                HostPhase::Dispatched,
                HostPhase::Activating,
                HostPhase::ConfirmWindow,
                HostPhase::Healthy,
                HostPhase::Soaked,
                HostPhase::Converged,
                HostPhase::Failed,
                HostPhase::Reverted,
                HostPhase::Quarantined,
            ]
        );
        // Each phase is written as its case index and read back.
        assert!(phases[..10].iter().all(|&p| phase_of_case(p as u8) == p));
        // Past the enum: the most conservative phase.
        assert!(phases[10..].iter().all(|&p| p == HostPhase::Quarantined));
    }

    #[test]
    fn unequal_columns_read_as_the_shortest() {
        let mut columns = Columns {
            current_closure: vec![0, 0],
            target_closure: vec![0; 4],
            phase: vec![1, 2, 3],
            ..zeros(3)
        };
        assert_eq!(columns.len(), 2);
        let s = from_columns("a", vec![1], columns.clone(), &[]);
        assert_eq!(s.len(), 2);
        let phases: Vec<HostPhase> = s.hosts().map(|h| h.phase).collect();
        assert_eq!(phases, [HostPhase::Dispatched, HostPhase::Activating]);
        assert!(s.host(HostId(2)).is_none());
        assert_eq!(s.name(HostId(2)), None);
        columns.phase.clear();
        assert!(columns.is_empty());
        assert!(from_columns("a", vec![1], columns, &[]).is_empty());
        assert!(Columns::default().is_empty());
    }

    #[test]
    fn tag_ends_out_of_order_or_out_of_range_read_as_no_tags() {
        let columns = Columns {
            tags_end: vec![2, 1, 3, u32::MAX, 0],
            ..zeros(5)
        };
        // Three tags: runs [0, 2), [2, 1) (backwards), [1, 3), [3, MAX) and [MAX, 0).
        let s = from_columns("ab", vec![1, 2], columns, &[0, 1, 0]);
        let tags: Vec<Vec<&str>> = s.hosts().map(|h| h.tags.iter().collect()).collect();
        assert_eq!(
            tags,
            [vec!["a", "b"], vec![], vec!["b", "a"], vec![], vec![]]
        );
    }

    #[test]
    fn malformed_snapshots_read_without_panicking() {
        let columns = Columns {
            name: vec![0, 1, 2],
            channel: vec![u32::MAX; 3],
            tags_end: vec![1, 0, 9],
            current_closure: vec![7; 3],
            target_closure: vec![8; 3],
            rollout: vec![3; 3],
            ..zeros(3)
        };
        // "é" is two bytes. String 0 is "éa"; 1 ends before it starts; 2 starts inside
        // "é"; 3 ends past the text; 4 and on do not exist.
        let s = from_columns("éab", vec![3, 1, 4, 99], columns, &[0, 42]);
        let views: Vec<(&str, &str, usize)> = s
            .hosts()
            .map(|h| (h.name, h.channel, h.tags.len()))
            .collect();
        assert_eq!(views, [("éa", "", 1), ("", "", 0), ("", "", 0)]);
        let first = s.host(HostId(0)).expect("host 0");
        assert_eq!(first.tags.iter().collect::<Vec<_>>(), ["éa"]);
        assert_eq!(first.rollout, Some(""));
        assert!(first.on_target(), "two unreadable closures read alike");
        assert_eq!(s.position("zz"), None);
        assert!(s.host(HostId(u32::MAX)).is_none());
        // The last tag is string 42, which does not exist.
        let bad_tag = from_columns(
            "éab",
            vec![3],
            Columns {
                tags_end: vec![2],
                ..zeros(1)
            },
            &[0, 42],
        );
        let tags: Vec<&str> = bad_tag.hosts().flat_map(|h| h.tags.iter()).collect();
        assert_eq!(tags, ["éa", ""]);
    }
}
