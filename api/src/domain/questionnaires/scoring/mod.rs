//! Scoring: pure functions, one module per kind of instrument. The bands come from the definition
//! (seeded from the instrument file), never from code.
pub mod single_item;
pub mod sum_scale;
pub mod who5;

pub use entity::types::{QuestionnaireScoring as ScoringKind, WellbeingBand};

/// A score band with inclusive bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    pub key: WellbeingBand,
    pub min: i32,
    pub max: i32,
}

/// What the server computes from a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    pub raw: i32,
    pub score: i32,
    /// The band the score falls in, for questionnaires with bands.
    pub band: Option<WellbeingBand>,
}

/// Scores validated answers (one per item, in item order) by the questionnaire's kind.
pub fn score(kind: ScoringKind, values: &[i32], bands: &[Band]) -> Scored {
    let (raw, score) = match kind {
        ScoringKind::Who5 => who5::score(values),
        ScoringKind::SumScale => sum_scale::score(values),
        ScoringKind::SingleItem => single_item::score(values),
    };
    Scored {
        raw,
        score,
        band: band(score, bands),
    }
}

/// The band a score falls in (the first that holds it).
pub fn band(score: i32, bands: &[Band]) -> Option<WellbeingBand> {
    bands
        .iter()
        .find(|b| (b.min..=b.max).contains(&score))
        .map(|b| b.key)
}

/// The lowest and highest score of a questionnaire with `items` items answered from `values`.
pub fn range(kind: ScoringKind, items: usize, values: &[i32]) -> (i32, i32) {
    let lo = values.iter().copied().min().unwrap_or(0);
    let hi = values.iter().copied().max().unwrap_or(0);
    let n = items as i32;
    match kind {
        ScoringKind::Who5 => (
            who5::score(&vec![lo; items]).1,
            who5::score(&vec![hi; items]).1,
        ),
        ScoringKind::SumScale => (n * lo, n * hi),
        ScoringKind::SingleItem => (lo, hi),
    }
}
