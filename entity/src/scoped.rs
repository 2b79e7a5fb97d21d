//! The finders every candidate-owned table shares, beside the entities: a row of a candidate's goal,
//! appointment or request is only ever looked up together with the candidate it belongs to (the API
//! crate hands out the candidate only through its tenant-scoped `Reach`), and a versioned row is only
//! changed when its version is still the one that was read.
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

use crate::ids::CandidateId;

/// Rows that belong to one candidate.
pub trait CandidateOwned: EntityTrait {
    /// The column holding the owner's id.
    const CANDIDATE: Self::Column;

    /// This candidate's rows.
    fn secure_find(candidate: CandidateId) -> Select<Self> {
        Self::find().filter(Self::CANDIDATE.eq(candidate))
    }
}

/// Rows with an integer `version` (optimistic concurrency: `ETag` and `If-Match`).
pub trait Versioned: EntityTrait {
    /// The primary key column.
    const ID: Self::Column;
    /// The version column.
    const VERSION: Self::Column;
    /// The column stamped with the time of each change, if the table has one.
    const UPDATED_AT: Option<Self::Column>;
}

macro_rules! candidate_owned {
    ($($table:ident),* $(,)?) => {
        $(
            impl CandidateOwned for crate::$table::Entity {
                const CANDIDATE: Self::Column = crate::$table::Column::CandidateId;
            }
        )*
    };
}

candidate_owned!(
    appointment,
    calendar_feed,
    career_profile,
    career_profile_change,
    disclosure,
    enrollment,
    goal,
    inbox_item,
    job_support_plan,
    job_support_plan_change,
    network_group_attendance,
    network_group_member,
    network_group_topic_suggestion,
    notification,
    questionnaire_assignment,
    questionnaire_response,
    request,
);

macro_rules! versioned {
    ($($table:ident . $id:ident $(, $updated:ident)?);* $(;)?) => {
        $(
            impl Versioned for crate::$table::Entity {
                const ID: Self::Column = crate::$table::Column::$id;
                const VERSION: Self::Column = crate::$table::Column::Version;
                const UPDATED_AT: Option<Self::Column> = versioned!(@updated $table $($updated)?);
            }
        )*
    };
    (@updated $table:ident $updated:ident) => { Some(crate::$table::Column::$updated) };
    (@updated $table:ident) => { None };
}

versioned!(
    appointment.Id, UpdatedAt;
    calendar_feed.CandidateId, UpdatedAt;
    candidate.Id, UpdatedAt;
    career_profile.Id, UpdatedAt;
    enrollment.Id, UpdatedAt;
    goal.Id, UpdatedAt;
    job_support_plan.Id, UpdatedAt;
    municipality.Id, UpdatedAt;
    network_group.Id, UpdatedAt;
    network_group_session.Id, UpdatedAt;
    questionnaire_assignment.Id, UpdatedAt;
    request.Id;
    staff.Id, UpdatedAt;
);
