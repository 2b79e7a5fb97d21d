//! The WHO-5 Well-Being Index: five items answered 0–5 about the last two weeks.
//!
//! The raw score is the sum (0–25) and the score is raw × 4 (0–100, always a multiple of 4). A score
//! of 28 or less (raw ≤ 7, likely depression), or a fall of 10 points or more from the candidate's
//! previous WHO-5, is a reason for the consultant to get in touch (the published WHO-5 guidance).

/// A score at or below this raises an alert.
pub const ALERT_AT_OR_BELOW: i32 = 28;
/// A fall of at least this many points from the previous WHO-5 raises an alert.
pub const ALERT_FALL: i32 = 10;

/// `(raw, score)`: the sum of the answers and the sum × 4.
pub fn score(values: &[i32]) -> (i32, i32) {
    let raw: i32 = values.iter().sum();
    (raw, raw * 4)
}

/// Why a WHO-5 response calls for the consultant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alert {
    /// The score is 28 or less.
    Low,
    /// The score fell by 10 or more since the previous WHO-5.
    Fall,
}

/// Whether a score (with the candidate's previous WHO-5 score, if any) raises an alert.
pub fn alert(score: i32, previous: Option<i32>) -> Option<Alert> {
    if score <= ALERT_AT_OR_BELOW {
        Some(Alert::Low)
    } else if previous.is_some_and(|p| p - score >= ALERT_FALL) {
        Some(Alert::Fall)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(alert(28, None), Some(Alert::Low));
        assert_eq!(alert(32, None), None);
        assert_eq!(alert(60, Some(72)), Some(Alert::Fall));
        assert_eq!(alert(64, Some(72)), None);
        assert_eq!(score(&[5, 5, 5, 5, 5]), (25, 100));
    }
}
