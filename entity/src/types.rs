//! The closed vocabularies of the service: every status, kind, role and band. Each is one enum shared by
//! the storage (stored as the same text as always, so existing databases keep working), the rules and
//! the API (where it is an enum in the OpenAPI spec). A stored value that no variant matches is a
//! database error, never silently read as some default.
use poem_openapi::Enum;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Declares a stored vocabulary: text in the database and in JSON, an enum everywhere else.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum,
            Enum, Serialize, Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[sea_orm(string_value = $value)]
                #[oai(rename = $value)]
                #[serde(rename = $value)]
                $variant
            ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored (and JSON) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $value ),+
                }
            }

            /// The value with this stored name.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $( $value => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// The role of a principal.
    Role {
        /// A young person in the programme.
        Candidate = "candidate",
        /// An IPS consultant: their own caseload.
        Consultant = "consultant",
        /// A team lead: the whole municipality.
        Coordinator = "coordinator",
        /// The installation's operator; never sees health data.
        Admin = "admin",
        /// A municipal system with client credentials and scopes.
        Service = "service",
    }
}

vocabulary! {
    /// The language a candidate reads.
    Language {
        /// Danish.
        Da = "da",
        /// English.
        En = "en",
    }
}

vocabulary! {
    /// The candidate's target group (health information: never shown to service accounts).
    TargetGroup {
        /// In psychiatric treatment.
        PsychiatricTreatment = "psychiatric_treatment",
        /// Mental distress without treatment.
        MentalDistress = "mental_distress",
        /// Substance use.
        SubstanceUse = "substance_use",
        /// Other.
        Other = "other",
    }
}

vocabulary! {
    /// The candidate's readiness category.
    Readiness {
        /// Activity-ready ("aktivitetsparat").
        ActivityReady = "activity_ready",
        /// Education-ready ("uddannelsesparat").
        EducationReady = "education_ready",
        /// Other.
        Other = "other",
    }
}

vocabulary! {
    /// Where a course stands.
    CourseStatus {
        /// Referred to the programme; not started.
        Referred = "referred",
        /// Running (see `phase`).
        Active = "active",
        /// Paused at the candidate's wish or by staff; resumes to `active`.
        Paused = "paused",
        /// The candidate has a job or education; support continues for as long as needed.
        Aftercare = "aftercare",
        /// Ended with an `outcome`.
        Completed = "completed",
        /// Ended without completing.
        Stopped = "stopped",
    }
}

impl CourseStatus {
    /// The statuses a course may move to from this one.
    pub fn allowed(self) -> &'static [CourseStatus] {
        use CourseStatus::*;
        match self {
            Referred => &[Active, Stopped],
            Active => &[Paused, Aftercare, Completed, Stopped],
            Paused => &[Active, Stopped],
            Aftercare => &[Active, Completed, Stopped],
            Completed | Stopped => &[],
        }
    }

    /// Not ended.
    pub fn is_open(self) -> bool {
        !matches!(self, CourseStatus::Completed | CourseStatus::Stopped)
    }

    /// The ended statuses.
    pub const ENDED: [CourseStatus; 2] = [CourseStatus::Completed, CourseStatus::Stopped];
}

vocabulary! {
    /// The part of a running course.
    CoursePhase {
        /// Trust, goals, first employer contacts within 30 days.
        Start = "start",
        /// Job or education placement.
        Middle = "middle",
    }
}

vocabulary! {
    /// How a completed course ended.
    CourseOutcome {
        /// An ordinary job.
        Job = "job",
        /// A flex job ("fleksjob").
        FlexJob = "flex_job",
        /// Ordinary education.
        Education = "education",
        /// Something else.
        Other = "other",
        /// No job or education.
        None = "none",
    }
}

vocabulary! {
    /// What a goal is about.
    GoalCategory {
        /// A job.
        Job = "job",
        /// Education.
        Education = "education",
        /// Everyday life.
        EverydayLife = "everyday_life",
        /// Friends, family, community.
        Social = "social",
        /// Health.
        Health = "health",
        /// Something else.
        Other = "other",
    }
}

vocabulary! {
    /// What an entry of a career profile's experience is.
    ExperienceKind {
        /// A job (paid, a flex job, a student job).
        Job = "job",
        /// A school or an education.
        Education = "education",
        /// Volunteer work.
        Volunteer = "volunteer",
        /// Something else (an internship, a club, caring for someone).
        Other = "other",
    }
}

vocabulary! {
    /// A part of a career profile, as named in its change history.
    CareerProfileField {
        /// What work the candidate wishes for.
        WorkWishes = "work_wishes",
        /// What they are good at.
        Strengths = "strengths",
        /// What they are interested in.
        Interests = "interests",
        /// The support they need.
        SupportNeeds = "support_needs",
        /// What stands in the way.
        Barriers = "barriers",
        /// What they want told to an employer, and how.
        DisclosureWishes = "disclosure_wishes",
        /// Their education.
        Education = "education",
        /// Jobs, education, volunteer work and more.
        Experience = "experience",
        /// The candidate's "done" mark.
        CandidateDone = "candidate_done",
        /// Staff's "done" mark.
        StaffDone = "staff_done",
        /// The day both had marked it done.
        CompletedOn = "completed_on",
    }
}

vocabulary! {
    /// Where a goal stands.
    GoalStatus {
        /// Proposed by staff; waits for the candidate to accept it.
        Proposed = "proposed",
        /// Being worked on.
        Active = "active",
        /// Reached.
        Achieved = "achieved",
        /// Let go (or, for a proposal, declined or withdrawn).
        Abandoned = "abandoned",
    }
}

impl GoalStatus {
    /// Proposed or being worked on.
    pub const OPEN: [GoalStatus; 2] = [GoalStatus::Proposed, GoalStatus::Active];
}

vocabulary! {
    /// Who wrote something: the candidate, or staff (for the candidate to accept).
    Author {
        /// The candidate.
        Candidate = "candidate",
        /// Staff.
        Staff = "staff",
    }
}

vocabulary! {
    /// What an appointment is.
    AppointmentKind {
        /// A meeting with the IPS consultant.
        ConsultantMeeting = "consultant_meeting",
        /// A meeting with an employer (counts as an employer contact when completed).
        Employer = "employer",
        /// A meeting with a school or education (counts as an employer contact when completed).
        Education = "education",
        /// A network group.
        NetworkGroup = "network_group",
        /// Treatment.
        Treatment = "treatment",
        /// Something else.
        Other = "other",
    }
}

vocabulary! {
    /// Where an appointment stands.
    AppointmentStatus {
        /// Booked.
        Scheduled = "scheduled",
        /// Called off by staff (with a reason).
        Cancelled = "cancelled",
        /// Took place.
        Completed = "completed",
        /// The candidate did not come.
        NoShow = "no_show",
    }
}

vocabulary! {
    /// The candidate's answer to an appointment, as stored.
    AppointmentReply {
        /// Not answered (yet, or since the appointment moved).
        None = "none",
        /// The candidate will come.
        Accepted = "accepted",
        /// The candidate cannot come.
        Declined = "declined",
        /// The candidate asks to move it.
        RescheduleRequested = "reschedule_requested",
    }
}

vocabulary! {
    /// What the candidate asks for.
    RequestKind {
        /// A break; the course resumes later.
        Pause = "pause",
        /// End the course.
        Stop = "stop",
    }
}

vocabulary! {
    /// Where a pause or stop request stands.
    RequestStatus {
        /// Sent; nobody has answered yet.
        Open = "open",
        /// Staff have seen it and will talk with the candidate.
        Acknowledged = "acknowledged",
        /// Done: the course is paused or stopped.
        CarriedOut = "carried_out",
        /// The candidate took it back.
        Withdrawn = "withdrawn",
    }
}

impl RequestStatus {
    /// Not finished ("one open request per kind").
    pub const OPEN: [RequestStatus; 2] = [RequestStatus::Open, RequestStatus::Acknowledged];
}

vocabulary! {
    /// How much the consultant may tell an employer or school.
    DisclosureLevel {
        /// Nothing: not even that the candidate takes part in IPS.
        None = "none",
        /// That the candidate takes part in a programme with support.
        Participation = "participation",
        /// What support the candidate needs at work or school, without diagnoses.
        SupportNeeds = "support_needs",
        /// Also health details the candidate has agreed to share.
        HealthDetails = "health_details",
    }
}

vocabulary! {
    /// What an inbox item is about.
    InboxKind {
        /// A pause or stop request that is `open` or `acknowledged`.
        Request = "request",
        /// A request nobody acknowledged within 2 working days (coordinators).
        RequestOverdue = "request_overdue",
        /// A paused course's planned resume date has passed; talk with the candidate.
        ResumeDue = "resume_due",
        /// A low WHO-5 score, or a fall of 10 points or more.
        WellbeingAlert = "wellbeing_alert",
        /// Two questionnaires in a row were not answered.
        MissedQuestionnaires = "missed_questionnaires",
        /// A webhook was disabled after 24 hours of failed deliveries (coordinators; no candidate).
        WebhookDisabled = "webhook_disabled",
        /// An active job support plan had no completed meeting within its `check_in_every_days`.
        CheckInDue = "check_in_due",
    }
}

vocabulary! {
    /// How a webhook delivery attempt ended.
    DeliveryOutcome {
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// It failed; another attempt is due at `next_retry_at`.
        Retrying = "retrying",
        /// It failed after 24 hours of attempts; the webhook was disabled.
        Failed = "failed",
    }
}

vocabulary! {
    /// Who should see an inbox item.
    InboxAudience {
        /// The candidate's consultant (and every coordinator of the municipality).
        Consultant = "consultant",
        /// Coordinators only.
        Coordinator = "coordinator",
    }
}

vocabulary! {
    /// What an in-app notification tells the candidate about.
    NotificationKind {
        /// A new appointment.
        AppointmentCreated = "appointment_created",
        /// An appointment moved or changed.
        AppointmentChanged = "appointment_changed",
        /// An appointment was called off (with the reason).
        AppointmentCancelled = "appointment_cancelled",
        /// An appointment starts within 24 hours.
        AppointmentReminder = "appointment_reminder",
        /// A questionnaire is due.
        QuestionnaireDue = "questionnaire_due",
        /// A questionnaire is still waiting (day 2).
        QuestionnaireReminder = "questionnaire_reminder",
        /// Staff have seen a pause or stop request.
        RequestAcknowledged = "request_acknowledged",
        /// A pause or stop request was carried out.
        RequestCarriedOut = "request_carried_out",
        /// Staff invite the candidate to a network group (`data.network_group_id`); joining stays the
        /// candidate's own choice.
        NetworkGroupInvitation = "network_group_invitation",
    }
}

vocabulary! {
    /// The built-in questionnaires.
    QuestionnaireKey {
        /// WHO-5 Well-Being Index (5 items, 0–5; score 0–100).
        Who5 = "who5",
        /// Motivation for the programme (3 statements, 0–3; score 0–9).
        Motivation = "motivation",
        /// Energy in everyday life to focus on a job or education (1 item, 1–5).
        Energy = "energy",
        /// Belief in being able to manage a job (1 item, 1–5).
        SelfEfficacy = "self_efficacy",
        /// How often the candidate feels lonely (1 item, 1–5).
        Loneliness = "loneliness",
        /// How much mental vulnerability weighed on everyday life, last four weeks (1 item, 1–5).
        Burden = "burden",
    }
}

vocabulary! {
    /// How a questionnaire is scored.
    QuestionnaireScoring {
        /// WHO-5: raw = the sum of the five answers (0–25), score = raw × 4 (0–100), with bands.
        Who5 = "who5",
        /// A sum scale (the motivation scale): score = raw = the sum of the answers.
        SumScale = "sum_scale",
        /// One item: score = raw = the answer.
        SingleItem = "single_item",
    }
}

vocabulary! {
    /// A WHO-5 well-being band.
    WellbeingBand {
        /// Score below 36: very low well-being.
        VeryLow = "very_low",
        /// Score 36–50: at risk of depression or stress.
        AtRisk = "at_risk",
        /// Score above 50: good well-being.
        Good = "good",
    }
}

vocabulary! {
    /// Where a questionnaire assignment stands in storage (the API derives `scheduled`, `due` and
    /// `on_hold` from `open` and the times).
    AssignmentState {
        /// Not answered yet and not closed.
        Open = "open",
        /// Answered.
        Completed = "completed",
        /// Closed unanswered: missed.
        Expired = "expired",
        /// Closed while the course was paused or had ended.
        Skipped = "skipped",
        /// Cancelled by staff.
        Cancelled = "cancelled",
    }
}

vocabulary! {
    /// What was done, in the audit log.
    AuditAction {
        /// Read.
        Read = "read",
        /// Created.
        Create = "create",
        /// Changed.
        Update = "update",
        /// Deleted.
        Delete = "delete",
        /// Personal data erased (SPEC §4.11).
        Erase = "erase",
    }
}

vocabulary! {
    /// What an audit entry is about.
    AuditResource {
        /// A candidate's record.
        Candidate = "candidate",
        /// A course.
        Enrollment = "enrollment",
        /// A login invitation (a new one resets the login).
        Invitation = "invitation",
        /// A goal.
        Goal = "goal",
        /// A career profile.
        CareerProfile = "career_profile",
        /// An appointment.
        Appointment = "appointment",
        /// The calendar-feed settings.
        CalendarFeed = "calendar_feed",
        /// A pause or stop request.
        Request = "request",
        /// What may be disclosed.
        Disclosure = "disclosure",
        /// A questionnaire assignment.
        QuestionnaireAssignment = "questionnaire_assignment",
        /// Questionnaire answers and scores.
        QuestionnaireResponse = "questionnaire_response",
        /// The staff inbox (read per candidate it shows).
        Inbox = "inbox",
        /// The audit log itself (read by a coordinator).
        Audit = "audit",
        /// A staff member's role.
        StaffRole = "staff.role",
        /// A staff member's active flag.
        StaffActive = "staff.active",
        /// A staff member's login invitation.
        StaffInvitation = "staff.invitation",
        /// A job support plan.
        JobSupportPlan = "job_support_plan",
        /// A network group: its settings, sessions, attendance, memberships, suggestions, invitations.
        NetworkGroup = "network_group",
    }
}

vocabulary! {
    /// Why a session ended.
    SessionEnd {
        /// The person logged out.
        Logout = "logout",
        /// A refresh token was used twice: the session is assumed stolen.
        RefreshReuse = "refresh_reuse",
        /// The staff account was deactivated.
        Deactivated = "deactivated",
        /// The staff member's role changed.
        RoleChanged = "role_changed",
        /// A new invitation reset the login.
        NewInvitation = "new_invitation",
        /// The record no longer matches the session (a changed role, municipality or flag).
        PrincipalChanged = "principal_changed",
    }
}

vocabulary! {
    /// Where an idempotency record stands.
    IdempotencyState {
        /// The first request is still running.
        InProgress = "in_progress",
        /// The first request was answered.
        Done = "done",
    }
}

vocabulary! {
    /// A type of event in the change feed (and the list webhooks filter on), sent as its dotted name,
    /// e.g. `enrollment.status_changed`.
    EventType {
        /// A candidate was created.
        CandidateCreated = "candidate.created",
        /// A candidate's details changed.
        CandidateUpdated = "candidate.updated",
        /// A candidate's personal data was erased (by a coordinator or the retention period): carries only
        /// `candidate_id`; the id is unknown to the API from then on.
        CandidateErased = "candidate.erased",
        /// A course changed status (with `from`, `to`).
        EnrollmentStatusChanged = "enrollment.status_changed",
        /// A course's phase or first employer contact changed, or a new course was opened.
        EnrollmentUpdated = "enrollment.updated",
        /// A paused course's planned resume date has passed.
        EnrollmentResumeDue = "enrollment.resume_due",
        /// A consultant's open courses passed 20.
        CaseloadOverLimit = "caseload.over_limit",
        /// A goal was created (by the candidate, or proposed by staff).
        GoalCreated = "goal.created",
        /// A goal changed.
        GoalUpdated = "goal.updated",
        /// The candidate accepted a proposed goal.
        GoalAccepted = "goal.accepted",
        /// A goal was deleted.
        GoalDeleted = "goal.deleted",
        /// A step was added to a goal.
        GoalStepAdded = "goal.step_added",
        /// A step changed.
        GoalStepUpdated = "goal.step_updated",
        /// A step was ticked off.
        GoalStepDone = "goal.step_done",
        /// A step was removed.
        GoalStepRemoved = "goal.step_removed",
        /// An appointment was booked.
        AppointmentCreated = "appointment.created",
        /// An appointment changed (time, place, …).
        AppointmentUpdated = "appointment.updated",
        /// An appointment was cancelled.
        AppointmentCancelled = "appointment.cancelled",
        /// An appointment was closed as completed or no-show.
        AppointmentClosed = "appointment.closed",
        /// The candidate answered an appointment.
        AppointmentResponded = "appointment.responded",
        /// A reminder went out 24 h before an appointment (for SMS or Digital Post gateways).
        AppointmentReminder = "appointment.reminder",
        /// Staff assigned a questionnaire.
        QuestionnaireAssignmentCreated = "questionnaire_assignment.created",
        /// A questionnaire fell due.
        QuestionnaireAssignmentDue = "questionnaire_assignment.due",
        /// The day-2 reminder of a due questionnaire went out.
        QuestionnaireAssignmentReminded = "questionnaire_assignment.reminded",
        /// Staff cancelled an assignment.
        QuestionnaireAssignmentCancelled = "questionnaire_assignment.cancelled",
        /// An assignment closed unanswered while the course ran (a missed questionnaire).
        QuestionnaireAssignmentExpired = "questionnaire_assignment.expired",
        /// An assignment closed while the course was paused or had ended (not counted as missed).
        QuestionnaireAssignmentSkipped = "questionnaire_assignment.skipped",
        /// The candidate answered a questionnaire (ids only, never the answers or scores).
        QuestionnaireResponseSubmitted = "questionnaire_response.submitted",
        /// A low WHO-5, or a fall of 10 points or more: the consultant should get in touch (no score).
        WellbeingAlert = "wellbeing.alert",
        /// The candidate asked to pause or stop.
        RequestCreated = "request.created",
        /// Staff acknowledged a request.
        RequestAcknowledged = "request.acknowledged",
        /// A request was carried out (the course paused or stopped).
        RequestCarriedOut = "request.carried_out",
        /// The candidate withdrew a request.
        RequestWithdrawn = "request.withdrawn",
        /// A request waited more than 2 working days unacknowledged.
        RequestOverdue = "request.overdue",
        /// The candidate changed what may be disclosed (the level only, never the note).
        DisclosureChanged = "disclosure.changed",
        /// A career profile changed (ids, version and whether it is completed; never the text).
        CareerProfileUpdated = "career_profile.updated",
        /// Staff wrote a job support plan, or changed one so that it waits for the candidate again.
        JobSupportPlanProposed = "job_support_plan.proposed",
        /// The candidate accepted a job support plan; it is active.
        JobSupportPlanAccepted = "job_support_plan.accepted",
        /// The candidate changed their own parts of a job support plan (never the texts in the event).
        JobSupportPlanUpdated = "job_support_plan.updated",
        /// Staff ended a job support plan.
        JobSupportPlanEnded = "job_support_plan.ended",
        /// An active plan had no completed meeting within its check-in cadence (one per period).
        JobSupportPlanCheckInDue = "job_support_plan.check_in_due",
        /// A candidate joined a network group (`network_group_id`, `candidate_id`).
        NetworkGroupJoined = "network_group.joined",
        /// A candidate left a network group (`network_group_id`, `candidate_id`).
        NetworkGroupLeft = "network_group.left",
        /// Staff recorded attendance at a session (`network_group_id`, `session_id`; never a topic).
        NetworkGroupAttendanceRecorded = "network_group.attendance_recorded",
    }
}

vocabulary! {
    /// A scope a service account may hold.
    Scope {
        /// Candidates' identity and contact details, consultant, course status, dates and outcome (no
        /// target group, no free text, no questionnaire data).
        CandidatesRead = "candidates:read",
        /// Create and change candidates and their courses.
        CandidatesWrite = "candidates:write",
        /// Read the change feed: event types with ids and statuses, never answers, scores or free text.
        EventsRead = "events:read",
        /// Read the reports: counts and shares, never a single candidate's data.
        ReportsRead = "reports:read",
    }
}

/// A service account's scopes, stored space-separated (`candidates:read events:read`).
#[derive(Clone, Debug, PartialEq, Eq, Default, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    /// The scopes, sorted and without repeats.
    pub fn new(mut scopes: Vec<Scope>) -> Self {
        scopes.sort();
        scopes.dedup();
        Self(scopes)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }
}

/// A stored scope list named a scope this version does not know.
#[derive(Debug)]
pub struct UnknownScope(pub String);

impl std::fmt::Display for UnknownScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown scope `{}`", self.0)
    }
}

impl std::error::Error for UnknownScope {}

impl std::str::FromStr for Scopes {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split_whitespace()
            .map(|name| Scope::parse(name).ok_or_else(|| UnknownScope(name.to_string())))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

vocabulary! {
    /// What kind of place a job support plan supports.
    PlacementKind {
        /// An ordinary job.
        Job = "job",
        /// A flex job ("fleksjob").
        FlexJob = "flex_job",
        /// An internship ("praktik").
        Internship = "internship",
        /// An education place.
        Education = "education",
    }
}

vocabulary! {
    /// Who a contact in a job support plan is.
    ContactRole {
        /// The employer or manager.
        Employer = "employer",
        /// A mentor at the workplace.
        Mentor = "mentor",
        /// A teacher or counsellor at the education.
        Teacher = "teacher",
        /// Someone else.
        Other = "other",
    }
}

vocabulary! {
    /// Who gives a support in a job support plan.
    SupportBy {
        /// The candidate themselves.
        Candidate = "candidate",
        /// The IPS consultant.
        Consultant = "consultant",
        /// The workplace or school.
        Workplace = "workplace",
        /// Someone else.
        Other = "other",
    }
}

vocabulary! {
    /// Where a job support plan stands.
    JobSupportPlanStatus {
        /// Written or changed by staff; waits for the candidate to accept it.
        Proposed = "proposed",
        /// Accepted by the candidate; the check-ins run.
        Active = "active",
        /// Ended by staff; kept as history.
        Ended = "ended",
    }
}
