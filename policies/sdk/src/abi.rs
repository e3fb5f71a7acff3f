//! The plain-data half of the wasm32 export glue: reading a snapshot's host columns
//! ([`HostColumns`]) into the SDK's [`HostRow`]s, and interning a decision's reasons into
//! the table its candidates or refusals index ([`ReasonTable`]).
//!
//! The glue (`glue.rs`, wasm32 only) only moves the generated bindings' vectors into
//! these; the rules live here, in ordinary Rust, so native tests exercise exactly what a
//! component does with malformed columns and repeated reasons.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};

use crate::snapshot::{HostRow, StrId};
use crate::types::{HostPhase, Timestamp};

/// An absent value of a `str-id` column (`current-closure`, `target-closure`, `rollout`).
pub const ABSENT_STR: u32 = u32::MAX;

/// An absent value of the `last-seen` column.
pub const ABSENT_TIMESTAMP: Timestamp = u64::MAX;

/// The hosts of a snapshot as they cross the ABI (WIT `host-columns`), borrowed: entry `i`
/// of every column describes host `i`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostColumns<'a> {
    /// Each host's name.
    pub name: &'a [u32],
    /// Each host's channel.
    pub channel: &'a [u32],
    /// Where each host's run of the snapshot's `tags` ends (it starts where the previous
    /// host's ends, at 0 for host 0).
    pub tags_end: &'a [u32],
    /// Each host's current closure, or [`ABSENT_STR`].
    pub current_closure: &'a [u32],
    /// Each host's target closure, or [`ABSENT_STR`].
    pub target_closure: &'a [u32],
    /// Each host's phase: the case index of WIT `host-phase`.
    pub phase: &'a [u8],
    /// When each host entered its phase.
    pub phase_since: &'a [Timestamp],
    /// Each host's last check-in, or [`ABSENT_TIMESTAMP`].
    pub last_seen: &'a [Timestamp],
    /// Each host's rollout id, or [`ABSENT_STR`].
    pub rollout: &'a [u32],
}

impl HostColumns<'_> {
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

    /// The hosts as [`HostRow`]s, for [`crate::Snapshot::from_parts`]: one pass, one
    /// allocation (the rows), and total — columns from outside the sandbox never make it
    /// panic, and a malformed one reads by these rules:
    ///
    /// - Columns of unequal length: the hosts are as many as the shortest column has
    ///   entries, and the extra entries of the longer ones are ignored. Only trailing
    ///   hosts drop out, so every id that is read names the same host it was meant to.
    /// - `tags-end` out of order or past `tags`: a host's run starts at the previous
    ///   entry as given and counts `end - start`, floored at 0, so a decreasing entry
    ///   gives that host no tags, and a run past `tags` reads as no tags
    ///   ([`crate::Snapshot`]'s own rule).
    /// - `0xffffffff` in an optional string column and `0xffffffffffffffff` in `last-seen`
    ///   read as `None`. (In `name` or `channel`, a string id past the table reads as
    ///   `""`.)
    /// - A phase byte that names no case of `host-phase` (above 9) reads as
    ///   [`HostPhase::Quarantined`]: a host in an unknown phase is never dispatched.
    pub fn rows(&self) -> Vec<HostRow> {
        let n = self.len();
        // Every column cut to `n`, so the loop indexes within bounds by construction.
        let name = &self.name[..n];
        let channel = &self.channel[..n];
        let tags_end = &self.tags_end[..n];
        let current_closure = &self.current_closure[..n];
        let target_closure = &self.target_closure[..n];
        let phase = &self.phase[..n];
        let phase_since = &self.phase_since[..n];
        let last_seen = &self.last_seen[..n];
        let rollout = &self.rollout[..n];

        let mut rows = Vec::with_capacity(n);
        let mut tags_from = 0;
        for i in 0..n {
            let tags_to = tags_end[i];
            rows.push(HostRow {
                name: StrId(name[i]),
                channel: StrId(channel[i]),
                tags_from,
                tags_count: tags_to.saturating_sub(tags_from),
                current_closure: optional_str(current_closure[i]),
                target_closure: optional_str(target_closure[i]),
                phase: phase_of_case(phase[i]),
                phase_since: phase_since[i],
                last_seen: (last_seen[i] != ABSENT_TIMESTAMP).then_some(last_seen[i]),
                rollout: optional_str(rollout[i]),
            });
            tags_from = tags_to;
        }
        rows
    }
}

impl<'a> From<&'a crate::snapshot::Columns> for HostColumns<'a> {
    fn from(c: &'a crate::snapshot::Columns) -> Self {
        HostColumns {
            name: &c.name,
            channel: &c.channel,
            tags_end: &c.tags_end,
            current_closure: &c.current_closure,
            target_closure: &c.target_closure,
            phase: &c.phase,
            phase_since: &c.phase_since,
            last_seen: &c.last_seen,
            rollout: &c.rollout,
        }
    }
}

fn optional_str(id: u32) -> Option<StrId> {
    (id != ABSENT_STR).then_some(StrId(id))
}

/// The phase whose WIT case index is `case`. An index past the enum cannot come from a
/// correct host; it reads as `Quarantined`, the most conservative phase (never dispatched,
/// never counted as converged), rather than as a phase that lets work proceed.
pub(crate) fn phase_of_case(case: u8) -> HostPhase {
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

/// `a == b`, eight bytes at a time: on wasm32, `memcmp` is a loop over single bytes, and
/// this comparison runs once per candidate of a plan and per refusal of a verdict.
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ta, tb) = (wa.remainder(), wb.remainder());
    wa.zip(wb).all(|(x, y)| {
        u64::from_ne_bytes(x.try_into().unwrap_or([0; 8]))
            == u64::from_ne_bytes(y.try_into().unwrap_or([0; 8]))
    }) && ta == tb
}

/// A decision's reason table under construction (WIT `reasons` of `plan` and `verdict`):
/// every distinct reason once, ids (WIT `reason-id`) in order of first appearance, so the
/// table is a function of the decision.
///
/// Consecutive candidates or refusals mostly share their reason, so the previous reason is
/// compared first; other reasons are found through a hash map with a fixed-key hasher (no
/// per-process randomness: the work done, hence the fuel used, is the same on every run).
/// The table borrows the reasons and copies each distinct one once, in
/// [`Self::into_reasons`].
///
/// ```
/// use convoy_policy_sdk::abi::ReasonTable;
///
/// let mut table = ReasonTable::default();
/// let ids: Vec<u32> = ["budget full", "budget full", "waits for db1", "budget full"]
///     .into_iter()
///     .map(|r| table.intern(r))
///     .collect();
/// assert_eq!(ids, [0, 0, 1, 0]);
/// assert_eq!(table.into_reasons(), ["budget full", "waits for db1"]);
/// ```
#[derive(Debug, Default)]
pub struct ReasonTable<'a> {
    reasons: Vec<&'a str>,
    ids: HashMap<&'a str, u32, BuildHasherDefault<DefaultHasher>>,
    last: Option<u32>,
}

impl<'a> ReasonTable<'a> {
    /// The id of `reason`, adding it to the table if it is new.
    pub fn intern(&mut self, reason: &'a str) -> u32 {
        if let Some(last) = self.last
            && self
                .reasons
                .get(last as usize)
                .is_some_and(|r| same_text(r, reason))
        {
            return last;
        }
        let reasons = &mut self.reasons;
        let id = *self.ids.entry(reason).or_insert_with(|| {
            reasons.push(reason);
            // A decision lives in a 32-bit address space: it cannot hold 2^32 reasons.
            u32::try_from(reasons.len() - 1).unwrap_or(u32::MAX)
        });
        self.last = Some(id);
        id
    }

    /// The table, in id order.
    pub fn into_reasons(self) -> Vec<String> {
        self.reasons.into_iter().map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_compares_every_byte() {
        let long = "budget `fleet` is full: 1000 of 1000 in flight";
        let copy = String::from(long);
        assert!(same_text(long, copy.as_str()));
        assert!(same_text("", ""));
        assert!(same_text("abc", "abc"));
        for i in 0..long.len() {
            let mut other = long.as_bytes().to_vec();
            other[i] ^= 1;
            let other = String::from_utf8(other).unwrap_or_default();
            assert!(!same_text(long, &other), "byte {i}");
        }
        assert!(!same_text(long, &long[..long.len() - 1]));
    }

    #[test]
    fn reasons_get_ids_in_order_of_first_appearance() {
        let decision = ["b", "b", "a", "b", "c", "a", "a", ""];
        let mut table = ReasonTable::default();
        let ids: Vec<u32> = decision.iter().map(|r| table.intern(r)).collect();
        assert_eq!(ids, [0, 0, 1, 0, 2, 1, 1, 3]);
        let reasons = table.into_reasons();
        assert_eq!(reasons, ["b", "a", "c", ""]);
        // The table and the ids give back every reason, in order.
        let back: Vec<&str> = ids.iter().map(|&i| reasons[i as usize].as_str()).collect();
        assert_eq!(back, decision);
    }

    #[test]
    fn an_empty_decision_has_an_empty_table() {
        assert!(ReasonTable::default().into_reasons().is_empty());
    }

    #[test]
    fn equal_reasons_share_an_id_wherever_they_are() {
        // Distinct allocations with equal text: equality is by content, not by pointer.
        let owned: Vec<String> = (0..200).map(|i| format!("reason {}", i % 7)).collect();
        let mut table = ReasonTable::default();
        let ids: Vec<u32> = owned.iter().map(|r| table.intern(r)).collect();
        assert_eq!(ids, (0..200).map(|i| i % 7).collect::<Vec<u32>>());
        assert_eq!(table.into_reasons().len(), 7);
    }

    fn row_fields(rows: &[HostRow]) -> Vec<(u32, u32, u32, HostPhase)> {
        rows.iter()
            .map(|r| (r.name.0, r.tags_from, r.tags_count, r.phase))
            .collect()
    }

    #[test]
    fn well_formed_columns_read_as_rows() {
        let columns = HostColumns {
            name: &[0, 3],
            channel: &[1, 1],
            tags_end: &[2, 3],
            current_closure: &[ABSENT_STR, 5],
            target_closure: &[4, 5],
            phase: &[0, 9],
            phase_since: &[10, 20],
            last_seen: &[ABSENT_TIMESTAMP, 30],
            rollout: &[ABSENT_STR, 6],
        };
        let rows = columns.rows();
        assert_eq!(
            row_fields(&rows),
            [
                (0, 0, 2, HostPhase::Idle),
                (3, 2, 1, HostPhase::Quarantined)
            ]
        );
        assert_eq!(
            rows[0],
            HostRow {
                name: StrId(0),
                channel: StrId(1),
                tags_from: 0,
                tags_count: 2,
                current_closure: None,
                target_closure: Some(StrId(4)),
                phase: HostPhase::Idle,
                phase_since: 10,
                last_seen: None,
                rollout: None,
            }
        );
        assert_eq!(
            (rows[1].current_closure, rows[1].last_seen, rows[1].rollout),
            (Some(StrId(5)), Some(30), Some(StrId(6)))
        );
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
        // Past the enum: the most conservative phase.
        assert!(phases[10..].iter().all(|&p| p == HostPhase::Quarantined));
    }

    #[test]
    fn unequal_columns_read_as_the_shortest() {
        let columns = HostColumns {
            name: &[0, 1, 2],
            channel: &[0, 0, 0],
            tags_end: &[0, 0, 0],
            current_closure: &[0, 0],
            target_closure: &[0, 0, 0, 0],
            phase: &[1, 2, 3],
            phase_since: &[0, 0, 0],
            last_seen: &[0, 0, 0],
            rollout: &[0, 0, 0],
        };
        assert_eq!(columns.len(), 2);
        assert_eq!(
            row_fields(&columns.rows()),
            [
                (0, 0, 0, HostPhase::Dispatched),
                (1, 0, 0, HostPhase::Activating)
            ]
        );
        let no_phase = HostColumns {
            phase: &[],
            ..columns
        };
        assert!(no_phase.is_empty());
        assert!(no_phase.rows().is_empty());
        assert!(HostColumns::default().rows().is_empty());
    }

    #[test]
    fn tag_ends_out_of_order_or_out_of_range_read_as_no_tags() {
        let zeros = &[0; 5][..];
        let columns = HostColumns {
            name: zeros,
            channel: zeros,
            tags_end: &[2, 1, 3, u32::MAX, 0],
            current_closure: zeros,
            target_closure: zeros,
            phase: &[0; 5],
            phase_since: &[0; 5],
            last_seen: &[0; 5],
            rollout: zeros,
        };
        let rows = columns.rows();
        let runs: Vec<(u32, u32)> = rows.iter().map(|r| (r.tags_from, r.tags_count)).collect();
        assert_eq!(
            runs,
            [(0, 2), (2, 0), (1, 2), (3, u32::MAX - 3), (u32::MAX, 0)]
        );
        // Through a snapshot of three tags: runs past `tags` read as no tags.
        let snapshot = crate::Snapshot::from_parts(
            "ab".into(),
            vec![1, 2],
            rows,
            vec![StrId(0), StrId(1), StrId(0)],
            vec![],
        );
        let tags: Vec<Vec<&str>> = snapshot.hosts().map(|h| h.tags.iter().collect()).collect();
        assert_eq!(
            tags,
            [vec!["a", "b"], vec![], vec!["b", "a"], vec![], vec![]]
        );
    }
}
