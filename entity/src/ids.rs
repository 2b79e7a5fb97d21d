//! Ids that are easy to mix up get their own types, so `goals::update(db, who, candidate_id, goal_id)`
//! cannot be called with the two swapped. Each is a UUIDv7, stored and sent as before.
use std::{fmt, str::FromStr};

use poem_openapi::NewType;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType, NewType,
            Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id (UUIDv7: ordered by creation time).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, DbErr> {
                Err(DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id! {
    /// A municipality (the tenant).
    MunicipalityId
}
id! {
    /// A candidate.
    CandidateId
}
id! {
    /// A staff member (consultant, coordinator or admin).
    StaffId
}
id! {
    /// A service account.
    ServiceAccountId
}
id! {
    /// A webhook subscription.
    WebhookId
}
id! {
    /// A course (enrollment).
    EnrollmentId
}
id! {
    /// A goal.
    GoalId
}
id! {
    /// A career profile.
    CareerProfileId
}
id! {
    /// A step of a goal.
    StepId
}
id! {
    /// An appointment.
    AppointmentId
}
id! {
    /// A pause or stop request.
    RequestId
}
id! {
    /// A questionnaire assignment.
    AssignmentId
}
id! {
    /// A questionnaire response.
    ResponseId
}
id! {
    /// A notification.
    NotificationId
}
id! {
    /// A job support plan.
    JobSupportPlanId
}
id! {
    /// A network group (netværksgruppe).
    NetworkGroupId
}
id! {
    /// One meeting of a network group.
    NetworkGroupSessionId
}
