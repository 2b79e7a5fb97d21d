//! `GET /reports/…`: outcomes, wellbeing, questionnaire answers at start, course durations and
//! fidelity, for coordinators and municipal systems: JSON, or CSV for spreadsheets when the client
//! asks for `text/csv`.
use std::fmt::Write as _;

use chrono::NaiveDate;
use entity::ids::MunicipalityId;
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi, ResponseContent,
    param::{Path, Query},
    payload::{Json, PlainText},
    types::Example,
};
use uuid::Uuid;

use super::Tag;
use crate::{
    auth::{BearerAuth, Scope},
    domain::{
        questionnaires::QuestionnaireKey,
        reports::{self, DurationBucket, Window},
    },
    error::{ApiError, ApiResult},
    state::AppState,
};

/// A count and its share of the whole the report names.
#[derive(Object, Clone, Debug, PartialEq)]
#[oai(rename = "ReportShare")]
pub struct Share {
    /// How many were counted.
    pub count: i64,
    /// `count` as a percentage of the whole, rounded half away from zero to one decimal (e.g. 60.5);
    /// `null` when the whole is 0.
    #[oai(nullable)]
    pub percent: Option<f64>,
}

impl From<reports::Share> for Share {
    fn from(s: reports::Share) -> Self {
        Self {
            count: s.count,
            percent: s.percent,
        }
    }
}

/// Ended courses by how they ended; every share is of `ended`.
#[derive(Object, Clone, Debug)]
pub struct OutcomesByOutcome {
    /// Completed with an ordinary job.
    pub job: Share,
    /// Completed with a flex job ("fleksjob").
    pub flex_job: Share,
    /// Completed with ordinary education.
    pub education: Share,
    /// Completed with another outcome.
    pub other: Share,
    /// Completed with no job or education.
    pub none: Share,
    /// Stopped before completing (at the candidate's wish or by staff).
    pub stopped: Share,
}

/// How the courses that ended in the window ended.
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct OutcomesReport {
    /// Courses that became `completed` or `stopped` in the window (by `ended_on`); stopped courses
    /// count as ended, so the six shares of `by_outcome` add up to this.
    pub ended: i64,
    /// Each outcome, and `stopped`, as a share of `ended`.
    pub by_outcome: OutcomesByOutcome,
    /// Job, flex job or education, as a share of `ended`: the programme's success rate.
    pub success: Share,
}

impl From<reports::Outcomes> for OutcomesReport {
    fn from(o: reports::Outcomes) -> Self {
        Self {
            ended: o.ended,
            by_outcome: OutcomesByOutcome {
                job: o.job.into(),
                flex_job: o.flex_job.into(),
                education: o.education.into(),
                other: o.other.into(),
                none: o.none.into(),
                stopped: o.stopped.into(),
            },
            success: o.success.into(),
        }
    }
}

impl Example for OutcomesReport {
    /// The published evaluation of IPS UNG: 43 ended courses.
    fn example() -> Self {
        let share = |count| reports::Share::of(count, 43);
        reports::Outcomes {
            ended: 43,
            job: share(9),
            flex_job: share(3),
            education: share(14),
            other: share(6),
            none: share(4),
            stopped: share(7),
            success: share(26),
        }
        .into()
    }
}

/// The share of candidates in each WHO-5 band (score under 36, 36–50, over 50).
#[derive(Object, Clone, Debug)]
pub struct WellbeingBands {
    /// Score under 36: very low wellbeing.
    pub very_low: Share,
    /// Score 36–50: at risk of depression or stress.
    pub at_risk: Share,
    /// Score over 50: good wellbeing.
    pub good: Share,
}

/// The candidates' WHO-5 at one point (their first, or their latest, response in the window).
#[derive(Object, Clone, Debug)]
pub struct WellbeingPoint {
    /// Mean WHO-5 score (0–100), rounded half away from zero to one decimal; `null` when `n` is 0.
    #[oai(nullable)]
    pub mean: Option<f64>,
    /// The share of the candidates in each band; each of `n`.
    pub bands: WellbeingBands,
}

impl From<reports::WellbeingPoint> for WellbeingPoint {
    fn from(p: reports::WellbeingPoint) -> Self {
        Self {
            mean: p.mean,
            bands: WellbeingBands {
                very_low: p.very_low.into(),
                at_risk: p.at_risk.into(),
                good: p.good.into(),
            },
        }
    }
}

/// WHO-5 wellbeing, first against latest.
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct WellbeingReport {
    /// Candidates with at least two WHO-5 responses submitted in the window; only they count.
    pub n: i64,
    /// Each candidate's first WHO-5 response in the window.
    pub first: WellbeingPoint,
    /// Each candidate's latest WHO-5 response in the window.
    pub latest: WellbeingPoint,
}

impl From<reports::Wellbeing> for WellbeingReport {
    fn from(w: reports::Wellbeing) -> Self {
        Self {
            n: w.n,
            first: w.first.into(),
            latest: w.latest.into(),
        }
    }
}

impl Example for WellbeingReport {
    /// The published evaluation of IPS UNG: 40 candidates.
    fn example() -> Self {
        let share = |count| reports::Share::of(count, 40);
        reports::Wellbeing {
            n: 40,
            first: reports::WellbeingPoint {
                mean: Some(49.1),
                very_low: share(11),
                at_risk: share(10),
                good: share(19),
            },
            latest: reports::WellbeingPoint {
                mean: Some(50.9),
                very_low: share(10),
                at_risk: share(7),
                good: share(23),
            },
        }
        .into()
    }
}

/// One possible answer to an item, and how many gave it at start.
#[derive(Object, Clone, Debug)]
pub struct QuestionnaireReportAnswer {
    /// The answer's value, as in the questionnaire's definition (`GET /questionnaires/{key}`).
    pub value: i32,
    /// Candidates who gave this answer at start.
    pub count: i64,
    /// `count` as a percentage of `n`, rounded half away from zero to one decimal; `null` when `n`
    /// is 0.
    #[oai(nullable)]
    pub percent: Option<f64>,
}

/// The answers to one item at start.
#[derive(Object, Clone, Debug)]
pub struct QuestionnaireReportItem {
    /// The item's key, as in the questionnaire's definition.
    pub item: String,
    /// Every answer the item allows, in the definition's order, also those nobody gave (count 0).
    pub answers: Vec<QuestionnaireReportAnswer>,
}

/// The answers at start (each candidate's first response) to one version of a questionnaire.
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct QuestionnaireReport {
    /// The questionnaire.
    pub key: QuestionnaireKey,
    /// The version reported: the one asked for, or the latest.
    pub version: i32,
    /// Candidates whose first response to the questionnaire was submitted in the window and
    /// answers this version.
    pub n: i64,
    /// Every item of the version, in the definition's order.
    pub items: Vec<QuestionnaireReportItem>,
}

impl QuestionnaireReport {
    fn from_domain(q: reports::QuestionnaireAnswers) -> ApiResult<Self> {
        let key = QuestionnaireKey::parse(&q.key).ok_or_else(|| {
            tracing::error!(key = %q.key, "a questionnaire without a key in the API");
            ApiError::internal()
        })?;
        Ok(Self {
            key,
            version: q.version,
            n: q.n,
            items: q
                .items
                .into_iter()
                .map(|i| QuestionnaireReportItem {
                    item: i.item,
                    answers: i
                        .answers
                        .into_iter()
                        .map(|(value, s)| QuestionnaireReportAnswer {
                            value,
                            count: s.count,
                            percent: s.percent,
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

impl Example for QuestionnaireReport {
    /// The published evaluation of IPS UNG: motivation at start, 55 answers.
    fn example() -> Self {
        let item = |key: &str, counts: [i64; 4]| reports::ItemAnswers {
            item: key.to_string(),
            answers: [3, 2, 1, 0]
                .into_iter()
                .zip(counts)
                .map(|(v, c)| (v, reports::Share::of(c, 55)))
                .collect(),
        };
        Self::from_domain(reports::QuestionnaireAnswers {
            key: "motivation".into(),
            version: 1,
            n: 55,
            items: vec![
                item("positive_change", [34, 16, 5, 0]),
                item("ready_to_try", [38, 14, 3, 0]),
                item("own_influence", [29, 19, 6, 1]),
            ],
        })
        .expect("a known key")
    }
}

/// One length of course, the courses of that length and their share.
#[derive(Object, Clone, Debug)]
pub struct DurationsReportBucket {
    /// The length in whole calendar months: `under_2`, `2_4` (2 or 3), … `10_12`, `12_plus`.
    pub label: DurationBucket,
    /// Courses of that length.
    pub count: i64,
    /// `count` as a percentage of `n`, rounded half away from zero to one decimal; `null` when `n`
    /// is 0.
    #[oai(nullable)]
    pub percent: Option<f64>,
}

/// How long the courses that ended in the window ran.
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct DurationsReport {
    /// Courses that became `completed` or `stopped` in the window and had started (a referral
    /// stopped before it became `active` has no length and is left out).
    pub n: i64,
    /// All seven lengths, shortest first, also those with no course.
    pub buckets: Vec<DurationsReportBucket>,
}

impl From<reports::Durations> for DurationsReport {
    fn from(d: reports::Durations) -> Self {
        Self {
            n: d.n,
            buckets: d
                .buckets
                .into_iter()
                .map(|(label, s)| DurationsReportBucket {
                    label,
                    count: s.count,
                    percent: s.percent,
                })
                .collect(),
        }
    }
}

impl Example for DurationsReport {
    /// The published evaluation of IPS UNG: 43 ended courses.
    fn example() -> Self {
        reports::Durations {
            n: 43,
            buckets: DurationBucket::ALL
                .into_iter()
                .zip([2, 6, 9, 7, 6, 3, 10])
                .map(|(b, c)| (b, reports::Share::of(c, 43)))
                .collect(),
        }
        .into()
    }
}

/// The open courses on one consultant now.
#[derive(Object, Clone, Debug)]
pub struct FidelityCaseload {
    /// The consultant (staff id). Every active consultant is listed, also with no courses, and any
    /// other staff member who holds open courses.
    pub consultant_id: Uuid,
    /// Open courses (`referred`, `active`, `paused`, `aftercare`) of candidates assigned to them.
    pub open: i64,
}

/// Days from the start of a course to the first contact with an employer or school.
#[derive(Object, Clone, Debug)]
pub struct FidelityFirstContact {
    /// Median days from `started_on` to `first_employer_contact_on`, over the courses started in the
    /// window that have a first contact (a contact before the start counts as day 0); a half day
    /// when their number is even; `null` when none has one.
    #[oai(nullable)]
    pub median_days: Option<f64>,
    /// Courses started in the window whose first contact came within 30 days of the start, as a
    /// share of all courses started in the window (with or without a contact).
    pub within_30_days: Share,
}

/// How closely the programme follows the IPS method.
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct FidelityReport {
    /// Caseload per consultant now (whatever the window), by consultant id.
    pub caseloads: Vec<FidelityCaseload>,
    /// First employer contacts of the courses that started in the window (by `started_on`).
    pub first_contact: FidelityFirstContact,
    /// Courses in aftercare now (whatever the window).
    pub in_aftercare: i64,
    /// Courses started in the window whose career profile was completed (both the candidate and
    /// staff marked it done; `completed_on`) within 30 days of `started_on`, as a share of all courses
    /// started in the window (a profile completed before the start counts as day 0). IPS asks for the
    /// profile within the first 30 days.
    pub career_profile_within_30_days: Share,
}

impl From<reports::Fidelity> for FidelityReport {
    fn from(f: reports::Fidelity) -> Self {
        Self {
            caseloads: f
                .caseloads
                .into_iter()
                .map(|c| FidelityCaseload {
                    consultant_id: c.consultant_id,
                    open: c.open,
                })
                .collect(),
            first_contact: FidelityFirstContact {
                median_days: f.median_days,
                within_30_days: f.within_30_days.into(),
            },
            in_aftercare: f.in_aftercare,
            career_profile_within_30_days: f.career_profile_within_30_days.into(),
        }
    }
}

impl Example for FidelityReport {
    fn example() -> Self {
        reports::Fidelity {
            caseloads: vec![
                reports::Caseload {
                    consultant_id: Uuid::from_u128(0x0193_0f2c_7a10_7c3e_9a5b_1f6d_2e4c_8b01),
                    open: 18,
                },
                reports::Caseload {
                    consultant_id: Uuid::from_u128(0x0193_0f2c_7a10_7c3e_9a5b_1f6d_2e4c_8b02),
                    open: 22,
                },
            ],
            median_days: Some(12.5),
            within_30_days: reports::Share::of(31, 40),
            in_aftercare: 9,
            career_profile_within_30_days: reports::Share::of(28, 40),
        }
        .into()
    }
}

/// Network groups in a window (SPEC §4.12).
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct NetworkGroupsReport {
    /// Groups that held at least one session in the window.
    pub groups: i64,
    /// Sessions held: not cancelled, started within the window and by now.
    pub sessions_held: i64,
    /// Candidates who came to at least one of those sessions.
    pub participants: i64,
    /// Attended member-sessions: `count` sessions attended, `percent` of all member-sessions (each
    /// session held, for each candidate who was in the group during it); `percent` is `null` when
    /// there were none.
    pub attendance: Share,
}

impl From<reports::NetworkGroups> for NetworkGroupsReport {
    fn from(r: reports::NetworkGroups) -> Self {
        Self {
            groups: r.groups,
            sessions_held: r.sessions_held,
            participants: r.participants,
            attendance: r.attendance.into(),
        }
    }
}

impl Example for NetworkGroupsReport {
    fn example() -> Self {
        reports::NetworkGroups {
            groups: 3,
            sessions_held: 36,
            participants: 21,
            attendance: reports::Share::of(190, 252),
        }
        .into()
    }
}

/// Defines a report's 200 response: JSON, or CSV when asked for, with the CSV's file name.
/// (`doc` is a literal: poem-openapi reads the descriptions before macros such as `concat!` expand.)
macro_rules! report_response {
    ($response:ident, $content:ident, $report:ty, $doc:literal) => {
        /// A report as JSON or CSV.
        #[derive(ResponseContent)]
        pub enum $content {
            Json(Json<$report>),
            #[oai(content_type = "text/csv; charset=utf-8")]
            Csv(PlainText<String>),
        }

        #[derive(ApiResponse)]
        pub enum $response {
            #[doc = $doc]
            #[oai(status = 200)]
            Ok(
                $content,
                #[oai(header = "Content-Disposition")] Option<String>,
            ),
        }
    };
}

report_response!(
    OutcomesResponse,
    OutcomesContent,
    OutcomesReport,
    "The outcomes report: JSON, or with `Accept: text/csv` one CSV row per figure and \
     `Content-Disposition: attachment; filename=\"ips-outcomes-<from>-<to>.csv\"`."
);
report_response!(
    WellbeingResponse,
    WellbeingContent,
    WellbeingReport,
    "The wellbeing report: JSON, or with `Accept: text/csv` one CSV row per figure and \
     `Content-Disposition: attachment; filename=\"ips-wellbeing-<from>-<to>.csv\"`."
);
report_response!(
    QuestionnaireReportResponse,
    QuestionnaireReportContent,
    QuestionnaireReport,
    "The questionnaire report: JSON, or with `Accept: text/csv` one CSV row per figure and \
     `Content-Disposition: attachment; filename=\"ips-questionnaires-<key>-<from>-<to>.csv\"`."
);
report_response!(
    DurationsResponse,
    DurationsContent,
    DurationsReport,
    "The durations report: JSON, or with `Accept: text/csv` one CSV row per figure and \
     `Content-Disposition: attachment; filename=\"ips-durations-<from>-<to>.csv\"`."
);
report_response!(
    FidelityResponse,
    FidelityContent,
    FidelityReport,
    "The fidelity report: JSON, or with `Accept: text/csv` one CSV row per figure and \
     `Content-Disposition: attachment; filename=\"ips-fidelity-<from>-<to>.csv\"`."
);

report_response!(
    NetworkGroupsResponse,
    NetworkGroupsContent,
    NetworkGroupsReport,
    "The network-groups report: JSON, or with `Accept: text/csv` one CSV row per figure and \
     `Content-Disposition: attachment; filename=\"ips-network-groups-<from>-<to>.csv\"`."
);

/// One figure of a report: one CSV row.
struct Figure {
    group: String,
    figure: String,
    count: Option<i64>,
    percent: Option<f64>,
    value: Option<String>,
}

impl Figure {
    fn count(group: &str, figure: &str, count: i64) -> Self {
        Self {
            group: group.into(),
            figure: figure.into(),
            count: Some(count),
            percent: None,
            value: None,
        }
    }

    fn share(group: &str, figure: &str, share: &Share) -> Self {
        Self {
            percent: share.percent,
            ..Self::count(group, figure, share.count)
        }
    }

    fn value(group: &str, figure: &str, value: Option<String>) -> Self {
        Self {
            group: group.into(),
            figure: figure.into(),
            count: None,
            percent: None,
            value,
        }
    }
}

/// A mean, median or percent as written in CSV: one decimal, a `.` as decimal point.
fn decimal(x: f64) -> String {
    format!("{x:.1}")
}

/// The CSV of a report (RFC 4180: CRLF line ends, a header row). Every field is a number, a date, a
/// fixed name or a key from the questionnaire definitions; a field with a comma, quote or line break
/// would still be quoted.
fn csv(report: &str, window: Window, figures: &[Figure]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = String::from("report,from,to,group,figure,count,percent,value\r\n");
    for f in figures {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{}\r\n",
            field(report),
            window.from,
            window.to,
            field(&f.group),
            field(&f.figure),
            f.count.map(|c| c.to_string()).unwrap_or_default(),
            f.percent.map(decimal).unwrap_or_default(),
            field(f.value.as_deref().unwrap_or_default()),
        );
    }
    out
}

/// Whether the client prefers `text/csv` to JSON (RFC 9110 §12.5.1: each type takes the `q` of the
/// most specific range that matches it; JSON wins a tie and is the default).
fn wants_csv(req: &Request) -> bool {
    let Some(accept) = req
        .headers()
        .get(poem::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ranges: Vec<mime::Mime> = accept
        .split(',')
        .take(32)
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let quality = |ty: &str, subtype: &str| -> f32 {
        ranges
            .iter()
            .filter_map(|r| {
                let specificity = match (r.type_().as_str(), r.subtype().as_str()) {
                    (t, s) if t == ty && s == subtype => 2,
                    (t, "*") if t == ty => 1,
                    ("*", "*") => 0,
                    _ => return None,
                };
                let q = r
                    .get_param("q")
                    .and_then(|q| q.as_str().parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((specificity, q))
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map(|(_, q)| q)
            .unwrap_or(0.0)
    };
    quality("text", "csv") > quality("application", "json")
}

/// The authorised municipality and the checked window.
fn begin(auth: &BearerAuth, from: NaiveDate, to: NaiveDate) -> ApiResult<(MunicipalityId, Window)> {
    let municipality = auth.0.municipality_reader(Scope::ReportsRead)?;
    Ok((municipality, Window::new(from, to)?))
}

/// The report as JSON, or as CSV with its file name when the client prefers CSV.
fn answer<T, R>(
    req: &Request,
    name: &str,
    window: Window,
    report: T,
    figures: impl FnOnce(&T) -> Vec<Figure>,
    json: impl FnOnce(Json<T>) -> R,
    csv_body: impl FnOnce(PlainText<String>) -> R,
) -> (R, Option<String>) {
    if wants_csv(req) {
        let body = csv(name, window, &figures(&report));
        let file = format!(
            "attachment; filename=\"ips-{}-{}-{}.csv\"",
            name.replace('/', "-"),
            window.from,
            window.to
        );
        (csv_body(PlainText(body)), Some(file))
    } else {
        (json(Json(report)), None)
    }
}

pub struct ReportsApi;

#[OpenApi(tag = "Tag::Reports")]
impl ReportsApi {
    /// Outcomes of ended courses
    ///
    /// The courses that ended (became `completed` or `stopped`) between `from` and `to`, by outcome,
    /// and the success rate: (job + flex job + education) ÷ ended. A stopped course counts as ended,
    /// so `ended` = the five outcomes + `stopped`. Coordinators and service accounts with
    /// `reports:read`, for their own municipality. Counts only; no candidate is named.
    ///
    /// With `Accept: text/csv` the answer is CSV, one row per figure, with the columns
    /// `report,from,to,group,figure,count,percent,value`: `report` is `outcomes`; the rows are
    /// `,ended` (count), `by_outcome,job` … `by_outcome,stopped` and `,success` (count and percent).
    /// Empty cells are `null`; decimals use `.`.
    #[oai(
        path = "/reports/outcomes",
        method = "get",
        operation_id = "getOutcomesReport"
    )]
    async fn outcomes(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// The first day of the window (`YYYY-MM-DD`, included; 1900-01-01 to 9999-12-31).
        from: Query<NaiveDate>,
        /// The last day of the window (`YYYY-MM-DD`, included; not before `from`).
        to: Query<NaiveDate>,
    ) -> ApiResult<OutcomesResponse> {
        let (municipality, window) = begin(&auth, from.0, to.0)?;
        let report: OutcomesReport = reports::outcomes(state.db.read(), municipality, window)
            .await?
            .into();
        let (body, file) = answer(
            req,
            "outcomes",
            window,
            report,
            |r| {
                let b = &r.by_outcome;
                vec![
                    Figure::count("", "ended", r.ended),
                    Figure::share("by_outcome", "job", &b.job),
                    Figure::share("by_outcome", "flex_job", &b.flex_job),
                    Figure::share("by_outcome", "education", &b.education),
                    Figure::share("by_outcome", "other", &b.other),
                    Figure::share("by_outcome", "none", &b.none),
                    Figure::share("by_outcome", "stopped", &b.stopped),
                    Figure::share("", "success", &r.success),
                ]
            },
            OutcomesContent::Json,
            OutcomesContent::Csv,
        );
        Ok(OutcomesResponse::Ok(body, file))
    }

    /// WHO-5 wellbeing, first against latest
    ///
    /// For the candidates with at least two WHO-5 responses submitted between `from` and `to` (days
    /// in Europe/Copenhagen): the mean score and the share in each band, at each candidate's first
    /// and at their latest response in that window. Coordinators and service accounts with
    /// `reports:read`, for their own municipality. Counts, shares and means only; no candidate is
    /// named.
    ///
    /// With `Accept: text/csv`: CSV rows (`report` is `wellbeing`) `,n` (count), `first,mean`
    /// (value), `first.bands,very_low` … `first.bands,good` (count and percent), and the same for
    /// `latest`.
    #[oai(
        path = "/reports/wellbeing",
        method = "get",
        operation_id = "getWellbeingReport"
    )]
    async fn wellbeing(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// The first day of the window (`YYYY-MM-DD`, included; 1900-01-01 to 9999-12-31).
        from: Query<NaiveDate>,
        /// The last day of the window (`YYYY-MM-DD`, included; not before `from`).
        to: Query<NaiveDate>,
    ) -> ApiResult<WellbeingResponse> {
        let (municipality, window) = begin(&auth, from.0, to.0)?;
        let report: WellbeingReport = reports::wellbeing(&state.db, municipality, window)
            .await?
            .into();
        let (body, file) = answer(
            req,
            "wellbeing",
            window,
            report,
            |r| {
                let mut rows = vec![Figure::count("", "n", r.n)];
                for (name, p) in [("first", &r.first), ("latest", &r.latest)] {
                    let bands = format!("{name}.bands");
                    rows.extend([
                        Figure::value(name, "mean", p.mean.map(decimal)),
                        Figure::share(&bands, "very_low", &p.bands.very_low),
                        Figure::share(&bands, "at_risk", &p.bands.at_risk),
                        Figure::share(&bands, "good", &p.bands.good),
                    ]);
                }
                rows
            },
            WellbeingContent::Json,
            WellbeingContent::Csv,
        );
        Ok(WellbeingResponse::Ok(body, file))
    }

    /// Questionnaire answers at start
    ///
    /// Per item, the share of each answer at start. "At start" is each candidate's first response
    /// to the questionnaire ever: it counts when it was submitted between `from` and `to` (days in
    /// Europe/Copenhagen) and answers the reported version. A candidate's later responses never
    /// count, in this window or any other, and a candidate whose first response came before `from`
    /// is not counted. The version is `version`, or the latest; first responses to another version
    /// count in that version's report. Every answer the item allows is listed, also with count 0.
    /// An unknown questionnaire or version is 404. Coordinators and service accounts with
    /// `reports:read`, for their own municipality. Counts and shares only; no candidate is named.
    ///
    /// With `Accept: text/csv`: CSV rows (`report` is `questionnaires/{key}`) `,version` (value),
    /// `,n` (count) and one row per item and answer: `group` the item, `figure` the answer's value
    /// (count and percent).
    #[oai(
        path = "/reports/questionnaires/:key",
        method = "get",
        operation_id = "getQuestionnaireReport"
    )]
    async fn questionnaire(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// The questionnaire's key, e.g. `motivation` (see `GET /questionnaires`).
        #[oai(validator(max_length = 40))]
        key: Path<String>,
        /// The first day of the window (`YYYY-MM-DD`, included; 1900-01-01 to 9999-12-31).
        from: Query<NaiveDate>,
        /// The last day of the window (`YYYY-MM-DD`, included; not before `from`).
        to: Query<NaiveDate>,
        /// The version of the questionnaire; default the latest.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        version: Query<Option<i32>>,
    ) -> ApiResult<QuestionnaireReportResponse> {
        let (municipality, window) = begin(&auth, from.0, to.0)?;
        let found =
            reports::questionnaire(&state.db, municipality, &key.0, version.0, window).await?;
        let report = QuestionnaireReport::from_domain(found)?;
        let name = format!("questionnaires/{}", report.key.as_str());
        let (body, file) = answer(
            req,
            &name,
            window,
            report,
            |r| {
                let mut rows = vec![
                    Figure::value("", "version", Some(r.version.to_string())),
                    Figure::count("", "n", r.n),
                ];
                for item in &r.items {
                    for a in &item.answers {
                        rows.push(Figure {
                            percent: a.percent,
                            ..Figure::count(&item.item, &a.value.to_string(), a.count)
                        });
                    }
                }
                rows
            },
            QuestionnaireReportContent::Json,
            QuestionnaireReportContent::Csv,
        );
        Ok(QuestionnaireReportResponse::Ok(body, file))
    }

    /// Durations of ended courses
    ///
    /// The courses that ended (became `completed` or `stopped`) between `from` and `to`, by their
    /// length in whole calendar months from `started_on` to `ended_on` (15 January to 14 March is 1
    /// month, to 15 March 2): under 2, 2–4, 4–6, 6–8, 8–10, 10–12, 12 and over. A course stopped
    /// before it started has no length and is left out. Coordinators and service accounts with
    /// `reports:read`, for their own municipality.
    ///
    /// With `Accept: text/csv`: CSV rows (`report` is `durations`) `,n` (count) and
    /// `buckets,under_2` … `buckets,12_plus` (count and percent).
    #[oai(
        path = "/reports/durations",
        method = "get",
        operation_id = "getDurationsReport"
    )]
    async fn durations(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// The first day of the window (`YYYY-MM-DD`, included; 1900-01-01 to 9999-12-31).
        from: Query<NaiveDate>,
        /// The last day of the window (`YYYY-MM-DD`, included; not before `from`).
        to: Query<NaiveDate>,
    ) -> ApiResult<DurationsResponse> {
        let (municipality, window) = begin(&auth, from.0, to.0)?;
        let report: DurationsReport = reports::durations(state.db.read(), municipality, window)
            .await?
            .into();
        let (body, file) = answer(
            req,
            "durations",
            window,
            report,
            |r| {
                let mut rows = vec![Figure::count("", "n", r.n)];
                rows.extend(r.buckets.iter().map(|b| Figure {
                    percent: b.percent,
                    ..Figure::count("buckets", b.label.as_str(), b.count)
                }));
                rows
            },
            DurationsContent::Json,
            DurationsContent::Csv,
        );
        Ok(DurationsResponse::Ok(body, file))
    }

    /// IPS fidelity
    ///
    /// Caseload per consultant and the courses in aftercare, both as they are now; and for the
    /// courses that started (became `active`) between `from` and `to`: the median days from the
    /// start to the first contact with an employer or school (over those that have one), and the
    /// share reached within 30 days (of all courses started in the window), and the share whose career
    /// profile was completed within 30 days of the start. Coordinators and
    /// service accounts with `reports:read`, for their own municipality.
    ///
    /// With `Accept: text/csv`: CSV rows (`report` is `fidelity`) `caseloads,<consultant id>`
    /// (count: open courses), `first_contact,median_days` (value), `first_contact,within_30_days`
    /// (count and percent), `,in_aftercare` (count) and `,career_profile_within_30_days` (count and
    /// percent).
    #[oai(
        path = "/reports/fidelity",
        method = "get",
        operation_id = "getFidelityReport"
    )]
    async fn fidelity(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// The first day of the window (`YYYY-MM-DD`, included; 1900-01-01 to 9999-12-31).
        from: Query<NaiveDate>,
        /// The last day of the window (`YYYY-MM-DD`, included; not before `from`).
        to: Query<NaiveDate>,
    ) -> ApiResult<FidelityResponse> {
        let (municipality, window) = begin(&auth, from.0, to.0)?;
        let report: FidelityReport = reports::fidelity(state.db.read(), municipality, window)
            .await?
            .into();
        let (body, file) = answer(
            req,
            "fidelity",
            window,
            report,
            |r| {
                let mut rows: Vec<Figure> = r
                    .caseloads
                    .iter()
                    .map(|c| Figure::count("caseloads", &c.consultant_id.to_string(), c.open))
                    .collect();
                let fc = &r.first_contact;
                rows.extend([
                    Figure::value("first_contact", "median_days", fc.median_days.map(decimal)),
                    Figure::share("first_contact", "within_30_days", &fc.within_30_days),
                    Figure::count("", "in_aftercare", r.in_aftercare),
                    Figure::share(
                        "",
                        "career_profile_within_30_days",
                        &r.career_profile_within_30_days,
                    ),
                ]);
                rows
            },
            FidelityContent::Json,
            FidelityContent::Csv,
        );
        Ok(FidelityResponse::Ok(body, file))
    }

    /// Network groups
    ///
    /// For the network-group sessions held between `from` and `to` (Copenhagen days; held = not
    /// cancelled and started by now): how many groups held them, how many sessions, how many
    /// candidates came to at least one, and attendance = attended ÷ member-sessions (each session held,
    /// for each candidate who was in the group during it). Coordinators and service accounts with
    /// `reports:read`, for their own municipality. Counts only; no candidate or topic is named.
    ///
    /// With `Accept: text/csv`: CSV rows (`report` is `network-groups`) `,groups`, `,sessions_held`,
    /// `,participants` (count) and `,attendance` (count and percent).
    #[oai(
        path = "/reports/network-groups",
        method = "get",
        operation_id = "getNetworkGroupsReport"
    )]
    async fn network_groups(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        req: &Request,
        /// The first day of the window (`YYYY-MM-DD`, included; 1900-01-01 to 9999-12-31).
        from: Query<NaiveDate>,
        /// The last day of the window (`YYYY-MM-DD`, included; not before `from`).
        to: Query<NaiveDate>,
    ) -> ApiResult<NetworkGroupsResponse> {
        let (municipality, window) = begin(&auth, from.0, to.0)?;
        let report: NetworkGroupsReport =
            reports::network_groups(state.db.read(), municipality, window)
                .await?
                .into();
        let (body, file) = answer(
            req,
            "network-groups",
            window,
            report,
            |r| {
                vec![
                    Figure::count("", "groups", r.groups),
                    Figure::count("", "sessions_held", r.sessions_held),
                    Figure::count("", "participants", r.participants),
                    Figure::share("", "attendance", &r.attendance),
                ]
            },
            NetworkGroupsContent::Json,
            NetworkGroupsContent::Csv,
        );
        Ok(NetworkGroupsResponse::Ok(body, file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> bool {
        let req = Request::builder().header("accept", value).finish();
        wants_csv(&req)
    }

    #[test]
    fn csv_only_when_preferred() {
        assert!(!wants_csv(&Request::builder().finish()));
        for (header, csv) in [
            ("text/csv", true),
            ("text/csv; charset=utf-8", true),
            ("application/json", false),
            ("*/*", false),
            ("text/csv, application/json", false),
            ("text/csv, application/json;q=0.5", true),
            ("application/json;q=0.9, text/csv", true),
            ("text/*", true),
            ("text/csv;q=0, */*", false),
            ("image/png", false),
            ("garbage;;", false),
        ] {
            assert_eq!(accept(header), csv, "{header}");
        }
    }

    #[test]
    fn csv_rows_quote_only_what_needs_it() {
        let w = Window::new(
            NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
            NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
        )
        .expect("window");
        let body = csv(
            "outcomes",
            w,
            &[
                Figure::share(
                    "by_outcome",
                    "job",
                    &Share {
                        count: 9,
                        percent: Some(20.9),
                    },
                ),
                Figure::value("a,b", "say \"hi\"", None),
            ],
        );
        assert_eq!(
            body,
            "report,from,to,group,figure,count,percent,value\r\n\
             outcomes,2026-01-01,2026-12-31,by_outcome,job,9,20.9,\r\n\
             outcomes,2026-01-01,2026-12-31,\"a,b\",\"say \"\"hi\"\"\",,,\r\n"
        );
    }
}
