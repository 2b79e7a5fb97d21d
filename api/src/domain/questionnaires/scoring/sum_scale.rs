//! A sum scale — the motivation scale: three statements answered 0–3; the score is the sum (0–9).
//! The answer to each item is kept with the response as well.

/// `(raw, score)`: both the sum of the answers.
pub fn score(values: &[i32]) -> (i32, i32) {
    let raw: i32 = values.iter().sum();
    (raw, raw)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums() {
        assert_eq!(super::score(&[3, 3, 3]), (9, 9));
        assert_eq!(super::score(&[0, 2, 1]), (3, 3));
    }
}
