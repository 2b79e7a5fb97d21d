//! Scoring: pure functions, one module per kind of instrument. The bands come from the definition
//! (seeded from the instrument file), never from code.
pub mod single_item;
pub mod sum_scale;
pub mod who5;

use poem_openapi::Enum;

/// How a questionnaire is scored.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "QuestionnaireScoring", rename_all = "snake_case")]
pub enum ScoringKind {
    /// WHO-5: raw = the sum of the five answers (0–25), score = raw × 4 (0–100), with bands.
    #[oai(rename = "who5")]
    Who5,
    /// A sum scale (the motivation scale): score = raw = the sum of the answers.
    SumScale,
    /// One item: score = raw = the answer.
    SingleItem,
}

impl ScoringKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Who5 => "who5",
            Self::SumScale => "sum_scale",
            Self::SingleItem => "single_item",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "who5" => Self::Who5,
            "sum_scale" => Self::SumScale,
            _ => Self::SingleItem,
        }
    }
}

/// A score band with inclusive bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    pub key: String,
    pub min: i32,
    pub max: i32,
}

/// What the server computes from a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    pub raw: i32,
    pub score: i32,
    /// The key of the band the score falls in, for questionnaires with bands.
    pub band: Option<String>,
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
        band: band(score, bands).map(str::to_string),
    }
}

/// The band a score falls in (the first that holds it).
pub fn band(score: i32, bands: &[Band]) -> Option<&str> {
    bands
        .iter()
        .find(|b| (b.min..=b.max).contains(&score))
        .map(|b| b.key.as_str())
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
