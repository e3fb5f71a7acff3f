//! The fleet as the rollout and gate worlds see it: one [`Snapshot`] in the ABI's columns.
//!
//! The host encodes the fleet once per tick as a string table and columns of string ids
//! and numbers (WIT `snapshot` and `host-columns`) and names hosts by [`HostId`], their
//! position in the snapshot. The SDK keeps the hosts in those columns ([`Columns`]), as
//! they arrived. A policy
//! reads hosts as [`HostRef`] views whose strings borrow from the table, so reading a
//! 10,000-host fleet allocates nothing per host — in the guest or natively. Natively,
//! [`Snapshot::new`] builds exactly the encoding the host sends.
//!
//! A snapshot comes from outside the sandbox, so reading one never panics: a string id
//! past the table, or whose offsets are out of order, past `text` or inside a UTF-8
//! character, reads as `""`; a tag run past `tags` reads as no tags; a host id past the
//! hosts is `None`. Host columns of unequal length, out-of-order tag ends and unknown
//! phases have their own rules ([`crate::abi::HostColumns::rows`]). The host sends hosts sorted by name, which [`Snapshot::position`]
//! relies on: in an unsorted snapshot it may not find a host that is there.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StrId(pub u32);

/// One host of a snapshot as the SDK stores it: the fields of [`Host`], with every string a
/// [`StrId`] — entry `i` of each of the ABI's host columns (WIT `host-columns`), with the
/// tag run as a start and a count. Policies read hosts through [`HostRef`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRow {
    /// Unique host name.
    pub name: StrId,
    /// The channel the host follows.
    pub channel: StrId,
    /// The host's tags are the snapshot's `tags[tags_from .. tags_from + tags_count]`.
    pub tags_from: u32,
    /// How many tags the host has.
    pub tags_count: u32,
    /// Closure the host reported running.
    pub current_closure: Option<StrId>,
    /// Closure the signed artifact assigns to the host.
    pub target_closure: Option<StrId>,
    /// Rollout phase.
    pub phase: HostPhase,
    /// When the host entered `phase`.
    pub phase_since: Timestamp,
    /// Last authenticated check-in.
    pub last_seen: Option<Timestamp>,
    /// Id of the rollout that dispatched the host's current step.
    pub rollout: Option<StrId>,
}

/// The fleet at one tick, in columns (WIT `snapshot`): every distinct string once in a
/// table, every host a [`HostRow`] of string ids, sorted by name, plus the active
/// rollouts. Its serde form has the WIT record's fields (`text`, `ends`, `hosts`, `tags`,
/// `active`), with `hosts` a list of [`HostRow`]s rather than the ABI's columns.
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SnapshotForm", into = "SnapshotForm")]
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
/// Absent values are [`crate::abi::ABSENT_STR`] and [`crate::abi::ABSENT_TIMESTAMP`];
/// a phase is the case index of [`HostPhase`]. How a malformed column reads is in
/// [`crate::abi::HostColumns::rows`]: the same rules hold here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Unique host names.
    pub name: Vec<u32>,
    /// The channels the hosts follow.
    pub channel: Vec<u32>,
    /// End of each host's run in the snapshot's tags (it starts at the previous end).
    pub tags_end: Vec<u32>,
    /// Closures the hosts reported running.
    pub current_closure: Vec<u32>,
    /// Closures the signed artifact assigns to the hosts.
    pub target_closure: Vec<u32>,
    /// Rollout phases, by case index.
    pub phase: Vec<u8>,
    /// When each host entered its phase.
    pub phase_since: Vec<Timestamp>,
    /// Last authenticated check-ins.
    pub last_seen: Vec<Timestamp>,
    /// Rollouts that dispatched the hosts' current steps.
    pub rollout: Vec<u32>,
}

impl Columns {
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

    /// The hosts: as many as the shortest column has entries.
    fn len(&self) -> usize {
        crate::abi::HostColumns::from(self).len()
    }

    /// Appends a host whose tags end at `tags_end`.
    fn push(&mut self, row: &HostRow, tags_end: u32) {
        let opt = |s: Option<StrId>| s.map_or(crate::abi::ABSENT_STR, |s| s.0);
        self.name.push(row.name.0);
        self.channel.push(row.channel.0);
        self.tags_end.push(tags_end);
        self.current_closure.push(opt(row.current_closure));
        self.target_closure.push(opt(row.target_closure));
        self.phase.push(row.phase as u8);
        self.phase_since.push(row.phase_since);
        self.last_seen
            .push(row.last_seen.unwrap_or(crate::abi::ABSENT_TIMESTAMP));
        self.rollout.push(opt(row.rollout));
    }
}

/// The serde form of a [`Snapshot`]: the WIT record's fields, hosts as [`HostRow`]s.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotForm {
    text: String,
    ends: Vec<u32>,
    hosts: Vec<HostRow>,
    tags: Vec<StrId>,
    active: Vec<Rollout>,
}

impl From<SnapshotForm> for Snapshot {
    fn from(f: SnapshotForm) -> Snapshot {
        Snapshot::from_parts(f.text, f.ends, f.hosts, f.tags, f.active)
    }
}

impl From<Snapshot> for SnapshotForm {
    fn from(s: Snapshot) -> SnapshotForm {
        SnapshotForm {
            hosts: s.rows(),
            text: s.text,
            ends: s.ends,
            tags: s.tags,
            active: s.active,
        }
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
        let mut columns = Columns::with_capacity(hosts.len());
        let mut tags = Vec::new();
        for h in &hosts {
            let name = table.intern(&h.name);
            let channel = table.intern(&h.channel);
            let mut own: Vec<&str> = h.tags.iter().map(String::as_str).collect();
            own.sort_unstable();
            own.dedup();
            let tags_from = saturating_u32(tags.len());
            tags.extend(own.iter().map(|t| table.intern(t)));
            let current_closure = h.current_closure.as_deref().map(|c| table.intern(c));
            let target_closure = h.target_closure.as_deref().map(|t| table.intern(t));
            let rollout = h.rollout.as_deref().map(|r| table.intern(r));
            let row = HostRow {
                name,
                channel,
                tags_from,
                tags_count: saturating_u32(own.len()),
                current_closure,
                target_closure,
                phase: h.phase,
                phase_since: h.phase_since,
                last_seen: h.last_seen,
                rollout,
            };
            columns.push(&row, saturating_u32(tags.len()));
        }
        Snapshot::from_columns(table.text, table.ends, columns, tags, active)
    }

    /// A snapshot from its parts as they crossed the ABI, taken as they are: nothing is
    /// checked or copied (reading is total, see the module documentation and
    /// [`crate::abi::HostColumns::rows`] for malformed columns).
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

    /// A snapshot from hosts given as [`HostRow`]s (each with its own run of `tags`), taken
    /// as they are: nothing is checked (reading is total, see the module documentation).
    /// The rows become columns, and each row's tag run (read by the snapshot's rule: a run
    /// past `tags` is no tags) is laid out in order.
    pub fn from_parts(
        text: String,
        ends: Vec<u32>,
        rows: Vec<HostRow>,
        tags: Vec<StrId>,
        active: Vec<Rollout>,
    ) -> Snapshot {
        let mut columns = Columns::with_capacity(rows.len());
        let mut laid_out = Vec::with_capacity(tags.len());
        for row in &rows {
            laid_out.extend_from_slice(tag_run(&tags, row.tags_from, row.tags_count));
            columns.push(row, saturating_u32(laid_out.len()));
        }
        Snapshot::from_columns(text, ends, columns, laid_out, active)
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
        // Interned: the hosts of one channel mostly share one id; compare strings only
        // when the id differs from the last one that matched.
        let mut matched = None;
        (0..self.len)
            .filter(move |&i| {
                let id = column[i];
                if matched == Some(id) {
                    return true;
                }
                let on = self.str(StrId(id)) == channel;
                if on {
                    matched = Some(id);
                }
                on
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

    /// The hosts as rows of string ids (a copy; the snapshot keeps columns).
    pub fn rows(&self) -> Vec<HostRow> {
        crate::abi::HostColumns::from(&self.columns).rows()
    }

    /// The hosts as the ABI's columns.
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
        use crate::abi::{ABSENT_STR, ABSENT_TIMESTAMP, phase_of_case};
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

    /// The tags' string ids.
    pub fn ids(self) -> &'a [StrId] {
        self.ids
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
            ],
            vec![],
        );
        let prod: Vec<(HostId, &str)> = s.hosts_on("prod").map(|h| (h.id, h.name)).collect();
        assert_eq!(prod, [(HostId(0), "a"), (HostId(2), "c")]);
    }

    #[test]
    fn malformed_snapshots_read_without_panicking() {
        let row = |name: u32, tags_from: u32, tags_count: u32| HostRow {
            name: StrId(name),
            channel: StrId(u32::MAX),
            tags_from,
            tags_count,
            current_closure: Some(StrId(7)),
            target_closure: Some(StrId(8)),
            phase: HostPhase::Idle,
            phase_since: 0,
            last_seen: None,
            rollout: Some(StrId(3)),
        };
        // "é" is two bytes. String 0 is "éa"; 1 ends before it starts; 2 starts inside
        // "é"; 3 ends past the text; 4 and on do not exist.
        let s = Snapshot::from_parts(
            "éab".into(),
            vec![3, 1, 4, 99],
            vec![row(0, 0, 1), row(1, u32::MAX, 2), row(2, 1, 9)],
            vec![StrId(0), StrId(42)],
            vec![],
        );
        let views: Vec<(&str, &str, usize)> = s
            .hosts()
            .map(|h| (h.name, h.channel, h.tags.len()))
            .collect();
        assert_eq!(views, [("éa", "", 1), ("", "", 0), ("", "", 0)]);
        let first = s.host(HostId(0)).expect("row 0");
        assert_eq!(first.tags.iter().collect::<Vec<_>>(), ["éa"]);
        assert_eq!(first.rollout, Some(""));
        assert!(first.on_target(), "two unreadable closures read alike");
        assert_eq!(s.position("zz"), None);
        assert!(s.host(HostId(u32::MAX)).is_none());
    }
}
