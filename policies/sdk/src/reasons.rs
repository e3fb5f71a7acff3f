//! A decision's reasons as they cross the ABI: every distinct reason once, in a table the
//! plan's candidates or the verdict's refusals index by id ([`ReasonTable`]).
//!
//! The export glue (`glue.rs`, wasm32 only) builds the table from the SDK's [`Plan`] and
//! [`Verdict`], whose candidates and refusals each carry their own reason; the rule lives
//! here, in ordinary Rust, so native tests exercise exactly what a component does.
//!
//! [`Plan`]: crate::Plan
//! [`Verdict`]: crate::Verdict
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};

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
/// use convoy_policy_sdk::reasons::ReasonTable;
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
            && self.reasons.get(last as usize) == Some(&reason)
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
}
