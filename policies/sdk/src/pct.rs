//! Percentages of host counts, rounded the one way every Convoy policy rounds them.
//!
//! **Rule:** `pct`% of `total` hosts is rounded *down* (floor), except that a positive
//! percentage of a non-empty set is at least 1 host — otherwise `maxInFlightPct: 10` on a
//! 5-host group would block the rollout forever. `0`% is 0 hosts. Integer arithmetic only:
//! no float may make a decision differ between machines.
#![forbid(unsafe_code)]

/// `pct`% of `total`, floored, at least 1 when `pct > 0` and `total > 0`.
///
/// ```
/// use convoy_policy_sdk::pct::pct_of;
/// assert_eq!(pct_of(9, 25), 2); // 2.25 → 2
/// assert_eq!(pct_of(5, 10), 1); // 0.5 → 0, raised to 1
/// assert_eq!(pct_of(0, 50), 0);
/// assert_eq!(pct_of(7, 0), 0);
/// ```
pub fn pct_of(total: usize, pct: u32) -> usize {
    if pct == 0 || total == 0 {
        return 0;
    }
    // u128: no overflow for any usize × u32.
    let floored = (total as u128 * u128::from(pct) / 100) as usize;
    floored.max(1)
}

#[cfg(test)]
mod tests {
    use super::pct_of;

    #[test]
    fn floors_with_a_floor_of_one() {
        assert_eq!(pct_of(10, 25), 2);
        assert_eq!(pct_of(12, 25), 3);
        assert_eq!(pct_of(3, 33), 1);
        assert_eq!(pct_of(3, 34), 1);
        assert_eq!(pct_of(3, 67), 2);
        assert_eq!(pct_of(100, 100), 100);
        assert_eq!(pct_of(1, 1), 1);
        assert_eq!(pct_of(usize::MAX, 100), usize::MAX);
    }
}
