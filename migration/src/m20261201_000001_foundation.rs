//! The foundation: tenants, identity, candidates and courses, the change feed and the audit log.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

fn index(
    table: &'static str,
    name: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    idx.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("municipalities")
                .col(pk_uuid("id"))
                .col(string_len("name", 200))
                .col(string_len_uniq("code", 3))
                .col(text("settings"))
                .col(integer("version"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .take(),
            Table::create()
                .table("staff")
                .col(pk_uuid("id"))
                .col(uuid_null("municipality_id"))
                .col(string_len("role", 20))
                .col(string_len("display_name", 200))
                .col(string_len_null("email", 254))
                .col(string_len_null("phone", 32))
                .col(boolean("active"))
                .col(integer("version"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("staff", "municipality_id")
                        .to("municipalities", "id"),
                )
                .take(),
            Table::create()
                .table("candidates")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(string_len("given_name", 100))
                .col(string_len("family_name", 100))
                .col(string_len_null("preferred_name", 100))
                .col(integer("birth_year"))
                .col(string_len("language", 2))
                .col(string_len_null("email", 254))
                .col(string_len_null("phone", 32))
                .col(string_len("target_group", 40))
                .col(string_len("readiness", 40))
                .col(uuid_null("consultant_id"))
                .col(string_len_null("external_ref", 100))
                .col(string_len("status", 20))
                .col(integer("version"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("candidates", "municipality_id")
                        .to("municipalities", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("candidates", "consultant_id")
                        .to("staff", "id"),
                )
                .take(),
            Table::create()
                .table("credentials")
                .col(pk_uuid("principal_id"))
                .col(string_len_uniq("username", 64))
                .col(string_len("password_hash", 200))
                .col(string_len("role", 20))
                .col(uuid_null("municipality_id"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .take(),
            Table::create()
                .table("invitations")
                .col(pk_uuid("id"))
                .col(uuid("principal_id"))
                .col(string_len("role", 20))
                .col(uuid_null("municipality_id"))
                .col(string_len_uniq("code_hash", 64))
                .col(ts("expires_at"))
                .col(ts_null("used_at"))
                .col(ts("created_at"))
                .take(),
            Table::create()
                .table("sessions")
                .col(pk_uuid("id"))
                .col(uuid("principal_id"))
                .col(string_len("role", 20))
                .col(uuid_null("municipality_id"))
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .col(ts("idle_expires_at"))
                .col(ts_null("revoked_at"))
                .col(string_len_null("revoked_reason", 40))
                .take(),
            Table::create()
                .table("refresh_tokens")
                .col(pk_uuid("id"))
                .col(uuid("session_id"))
                .col(string_len_uniq("token_hash", 64))
                .col(ts("created_at"))
                .col(ts_null("used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("refresh_tokens", "session_id")
                        .to("sessions", "id"),
                )
                .take(),
            Table::create()
                .table("signing_keys")
                .col(string_len("kid", 64).primary_key())
                .col(text("private_der"))
                .col(string_len("public_x", 64))
                .col(ts("created_at"))
                .col(ts_null("retired_at"))
                .take(),
            Table::create()
                .table("service_accounts")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(string_len("name", 200))
                .col(string_len_uniq("client_id", 64))
                .col(string_len("secret_hash", 200))
                .col(string_len("scopes", 200))
                .col(ts("created_at"))
                .col(ts_null("deleted_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("service_accounts", "municipality_id")
                        .to("municipalities", "id"),
                )
                .take(),
            Table::create()
                .table("login_failures")
                .col(pk_uuid("id"))
                .col(string_len("key", 120))
                .col(ts("at"))
                .take(),
            Table::create()
                .table("enrollments")
                .col(pk_uuid("id"))
                .col(uuid("candidate_id"))
                .col(uuid("municipality_id"))
                .col(string_len("status", 20))
                .col(string_len_null("phase", 20))
                .col(date("referred_on"))
                .col(date_null("started_on"))
                .col(date_null("ended_on"))
                .col(date_null("first_employer_contact_on"))
                .col(string_len_null("outcome", 20))
                .col(date_null("resume_on"))
                .col(date("last_effective_on"))
                .col(integer("version"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("enrollments", "candidate_id")
                        .to("candidates", "id"),
                )
                .take(),
            Table::create()
                .table("enrollment_transitions")
                .col(pk_uuid("id"))
                .col(uuid("enrollment_id"))
                .col(string_len_null("from_status", 20))
                .col(string_len("to_status", 20))
                .col(date("effective_on"))
                .col(ts("recorded_at"))
                .col(uuid_null("by_id"))
                .col(string_len("by_role", 20))
                .col(string_len_null("reason", 2000))
                .col(uuid_null("request_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("enrollment_transitions", "enrollment_id")
                        .to("enrollments", "id"),
                )
                .take(),
            Table::create()
                .table("event_counters")
                .col(pk_uuid("municipality_id"))
                .col(big_integer("last_seq"))
                .take(),
            Table::create()
                .table("events")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(big_integer("seq"))
                .col(string_len("event_type", 64))
                .col(text("payload"))
                .col(ts("occurred_at"))
                .take(),
            Table::create()
                .table("audit_log")
                .col(pk_uuid("id"))
                .col(uuid_null("municipality_id"))
                .col(uuid_null("candidate_id"))
                .col(uuid("actor_id"))
                .col(string_len("actor_role", 20))
                .col(string_len("action", 20))
                .col(string_len("resource", 40))
                .col(uuid_null("resource_id"))
                .col(string_len_null("request_id", 100))
                .col(ts("at"))
                .take(),
            Table::create()
                .table("idempotency_keys")
                .col(pk_uuid("id"))
                .col(uuid("principal_id"))
                .col(string_len("key", 255))
                .col(string_len("request_hash", 64))
                .col(string_len("state", 20))
                .col(integer_null("status_code"))
                .col(text_null("response_headers"))
                .col(blob_null("response_body"))
                .col(ts("created_at"))
                .take(),
        ];
        for table in tables {
            m.create_table(table).await?;
        }
        let indexes = [
            index(
                "staff",
                "staff_municipality",
                &["municipality_id", "id"],
                false,
            ),
            index(
                "candidates",
                "candidates_municipality",
                &["municipality_id", "id"],
                false,
            ),
            index(
                "candidates",
                "candidates_consultant",
                &["consultant_id", "id"],
                false,
            ),
            index(
                "candidates",
                "candidates_external_ref",
                &["municipality_id", "external_ref"],
                true,
            ),
            index(
                "candidates",
                "candidates_updated",
                &["municipality_id", "updated_at"],
                false,
            ),
            index(
                "candidates",
                "candidates_status",
                &["municipality_id", "status"],
                false,
            ),
            index(
                "invitations",
                "invitations_principal",
                &["principal_id"],
                false,
            ),
            index("sessions", "sessions_principal", &["principal_id"], false),
            index(
                "refresh_tokens",
                "refresh_tokens_session",
                &["session_id"],
                false,
            ),
            index(
                "service_accounts",
                "service_accounts_municipality",
                &["municipality_id", "id"],
                false,
            ),
            index(
                "login_failures",
                "login_failures_key_at",
                &["key", "at"],
                false,
            ),
            index(
                "enrollments",
                "enrollments_candidate",
                &["candidate_id", "created_at"],
                false,
            ),
            index(
                "enrollments",
                "enrollments_status",
                &["municipality_id", "status"],
                false,
            ),
            index(
                "enrollment_transitions",
                "enrollment_transitions_enrollment",
                &["enrollment_id", "recorded_at"],
                false,
            ),
            index(
                "events",
                "events_municipality_seq",
                &["municipality_id", "seq"],
                true,
            ),
            index(
                "audit_log",
                "audit_log_candidate_at",
                &["candidate_id", "at"],
                false,
            ),
            index(
                "idempotency_keys",
                "idempotency_keys_principal_key",
                &["principal_id", "key"],
                true,
            ),
            index(
                "idempotency_keys",
                "idempotency_keys_created",
                &["created_at"],
                false,
            ),
        ];
        for idx in indexes {
            m.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "audit_log",
            "events",
            "event_counters",
            "enrollment_transitions",
            "enrollments",
            "login_failures",
            "service_accounts",
            "signing_keys",
            "refresh_tokens",
            "sessions",
            "invitations",
            "credentials",
            "candidates",
            "staff",
            "municipalities",
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
