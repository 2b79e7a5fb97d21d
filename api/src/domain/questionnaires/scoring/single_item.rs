//! A single-item scale (energy, self-efficacy, loneliness, burden): the score is the answer.

/// `(raw, score)`: both the one answer.
pub fn score(values: &[i32]) -> (i32, i32) {
    let v = values.first().copied().unwrap_or(0);
    (v, v)
}
