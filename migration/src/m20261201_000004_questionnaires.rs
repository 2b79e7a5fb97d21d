//! Questionnaires: the built-in instrument definitions (versioned, Danish and English, with codes),
//! assignments to candidates, and the candidates' responses with their answers.
//!
//! The definitions are seeded here from `api/instruments/*.json`, included at compile time, so the
//! WHO-5 wording in the database is the official file byte for byte. Those files are frozen once this
//! migration has landed: a new wording is a new version, seeded by a new migration.
use sea_orm_migration::{prelude::*, schema::*};
use serde_json::Value;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The instruments, in the order they are listed, with the scoring kind the API applies to each.
const INSTRUMENTS: [(&str, &str); 6] = [
    ("who5", include_str!("../../api/instruments/who5.json")),
    (
        "sum_scale",
        include_str!("../../api/instruments/motivation.json"),
    ),
    (
        "single_item",
        include_str!("../../api/instruments/energy.json"),
    ),
    (
        "single_item",
        include_str!("../../api/instruments/self_efficacy.json"),
    ),
    (
        "single_item",
        include_str!("../../api/instruments/loneliness.json"),
    ),
    (
        "single_item",
        include_str!("../../api/instruments/burden.json"),
    ),
];

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

/// The foreign key from `(questionnaire_key, version)` to the version it belongs to.
fn to_version(from: &'static str, on_delete: ForeignKeyAction) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(from)
        .from_col("questionnaire_key")
        .from_col("version")
        .to_tbl("questionnaire_versions")
        .to_col("questionnaire_key")
        .to_col("version")
        .on_delete(on_delete)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("questionnaires")
                .col(string_len("key", 40).primary_key())
                .col(string_len("kind", 20))
                .col(integer("position"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("questionnaire_versions")
                .col(string_len("questionnaire_key", 40))
                .col(integer("version"))
                .col(string_len("name_da", 200))
                .col(string_len("name_en", 200))
                .col(string_len("instruction_da", 1000))
                .col(string_len("instruction_en", 1000))
                .col(string_len_null("recall_period_da", 200))
                .col(string_len_null("recall_period_en", 200))
                .col(text("codes"))
                .primary_key(Index::create().col("questionnaire_key").col("version"))
                .foreign_key(
                    ForeignKey::create()
                        .from("questionnaire_versions", "questionnaire_key")
                        .to("questionnaires", "key"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("questionnaire_items")
                .col(string_len("questionnaire_key", 40))
                .col(integer("version"))
                .col(string_len("item_key", 40))
                .col(integer("position"))
                .col(string_len("text_da", 500))
                .col(string_len("text_en", 500))
                .primary_key(
                    Index::create()
                        .col("questionnaire_key")
                        .col("version")
                        .col("item_key"),
                )
                .foreign_key(&mut to_version(
                    "questionnaire_items",
                    ForeignKeyAction::Cascade,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("questionnaire_options")
                .col(string_len("questionnaire_key", 40))
                .col(integer("version"))
                .col(integer("value"))
                .col(integer("position"))
                .col(string_len("label_da", 200))
                .col(string_len("label_en", 200))
                .primary_key(
                    Index::create()
                        .col("questionnaire_key")
                        .col("version")
                        .col("value"),
                )
                .foreign_key(&mut to_version(
                    "questionnaire_options",
                    ForeignKeyAction::Cascade,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("questionnaire_bands")
                .col(string_len("questionnaire_key", 40))
                .col(integer("version"))
                .col(string_len("band_key", 40))
                .col(integer("position"))
                .col(integer("min_score"))
                .col(integer("max_score"))
                .col(string_len("label_da", 200))
                .col(string_len("label_en", 200))
                .primary_key(
                    Index::create()
                        .col("questionnaire_key")
                        .col("version")
                        .col("band_key"),
                )
                .foreign_key(&mut to_version(
                    "questionnaire_bands",
                    ForeignKeyAction::Cascade,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("questionnaire_assignments")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(uuid("candidate_id"))
                .col(string_len("questionnaire_key", 40))
                .col(uuid("series_id"))
                .col(ts("due_at"))
                .col(ts("closes_at"))
                .col(integer_null("repeat_every_days"))
                .col(string_len("status", 20))
                .col(uuid_null("response_id"))
                .col(ts_null("notified_at"))
                .col(ts_null("reminded_at"))
                .col(ts_null("closed_at"))
                .col(uuid("created_by"))
                .col(integer("version"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("questionnaire_assignments", "candidate_id")
                        .to("candidates", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("questionnaire_assignments", "questionnaire_key")
                        .to("questionnaires", "key"),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("questionnaire_responses")
                .col(pk_uuid("id"))
                .col(uuid("municipality_id"))
                .col(uuid("candidate_id"))
                .col(string_len("questionnaire_key", 40))
                .col(integer("version"))
                .col(uuid_null("assignment_id"))
                .col(integer("raw_score"))
                .col(integer("score"))
                .col(string_len_null("band", 40))
                .col(boolean("alert"))
                .col(ts("submitted_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("questionnaire_responses", "candidate_id")
                        .to("candidates", "id"),
                )
                .foreign_key(&mut to_version(
                    "questionnaire_responses",
                    ForeignKeyAction::Restrict,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("questionnaire_answers")
                .col(uuid("response_id"))
                .col(string_len("item_key", 40))
                .col(integer("position"))
                .col(integer("value"))
                .primary_key(Index::create().col("response_id").col("item_key"))
                .foreign_key(
                    ForeignKey::create()
                        .from("questionnaire_answers", "response_id")
                        .to("questionnaire_responses", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        for (table, name, cols) in [
            // The candidate's due and open assignments (plan, /me/questionnaires, "one open per key").
            (
                "questionnaire_assignments",
                "questionnaire_assignments_candidate",
                &["candidate_id", "status", "due_at"][..],
            ),
            // The background tick: open assignments by due date.
            (
                "questionnaire_assignments",
                "questionnaire_assignments_due",
                &["status", "due_at"][..],
            ),
            // History per questionnaire and the latest WHO-5 (plan, alerts).
            (
                "questionnaire_responses",
                "questionnaire_responses_candidate",
                &["candidate_id", "questionnaire_key", "id"][..],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(table);
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx.take()).await?;
        }
        for (position, (kind, json)) in INSTRUMENTS.iter().enumerate() {
            seed(m, kind, position as i32, json).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "questionnaire_answers",
            "questionnaire_responses",
            "questionnaire_assignments",
            "questionnaire_bands",
            "questionnaire_options",
            "questionnaire_items",
            "questionnaire_versions",
            "questionnaires",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}

fn bad(what: &str) -> DbErr {
    DbErr::Migration(format!("instrument definition: {what}"))
}

fn text_of<'a>(v: &'a Value, key: &str) -> Result<&'a str, DbErr> {
    v[key]
        .as_str()
        .ok_or_else(|| bad(&format!("`{key}` is missing")))
}

fn int_of(v: &Value, key: &str) -> Result<i32, DbErr> {
    v[key]
        .as_i64()
        .map(|n| n as i32)
        .ok_or_else(|| bad(&format!("`{key}` is missing")))
}

fn list_of<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, DbErr> {
    v[key]
        .as_array()
        .ok_or_else(|| bad(&format!("`{key}` is missing")))
}

/// A band's `range` as inclusive integer bounds (scores are whole numbers): `score < N`,
/// `score <= N`, `score > N`, `score >= N` or `A <= score <= B`, within `0..=100`.
fn band_bounds(range: &str) -> Result<(i32, i32), DbErr> {
    let num = |s: &str| {
        s.trim()
            .parse::<i32>()
            .map_err(|_| bad(&format!("band range `{range}`")))
    };
    let parts: Vec<&str> = range.split_whitespace().collect();
    match parts.as_slice() {
        ["score", "<", n] => Ok((0, num(n)? - 1)),
        ["score", "<=", n] => Ok((0, num(n)?)),
        ["score", ">", n] => Ok((num(n)? + 1, 100)),
        ["score", ">=", n] => Ok((num(n)?, 100)),
        [a, "<=", "score", "<=", b] => Ok((num(a)?, num(b)?)),
        _ => Err(bad(&format!("band range `{range}`"))),
    }
}

/// Inserts one instrument version with its items, answer options and bands.
async fn seed(m: &SchemaManager<'_>, kind: &str, position: i32, json: &str) -> Result<(), DbErr> {
    let def: Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let key = text_of(&def, "key")?.to_string();
    let version = int_of(&def, "version")?;
    let lang = |v: &Value, field: &str| -> Result<(String, String), DbErr> {
        let o = &v[field];
        Ok((text_of(o, "da")?.to_string(), text_of(o, "en")?.to_string()))
    };
    let optional = |field: &str| -> Result<(Option<String>, Option<String>), DbErr> {
        if Value::is_null(&def[field]) {
            Ok((None, None))
        } else {
            let (da, en) = lang(&def, field)?;
            Ok((Some(da), Some(en)))
        }
    };
    let (name_da, name_en) = lang(&def, "name")?;
    let (instruction_da, instruction_en) = lang(&def, "instruction")?;
    let (recall_da, recall_en) = optional("recall_period")?;
    let codes = Value::Array(list_of(&def, "codes")?.clone()).to_string();

    m.exec_stmt(
        Query::insert()
            .into_table("questionnaires")
            .columns(["key", "kind", "position"])
            .values_panic([key.clone().into(), kind.into(), position.into()])
            .take(),
    )
    .await?;
    m.exec_stmt(
        Query::insert()
            .into_table("questionnaire_versions")
            .columns([
                "questionnaire_key",
                "version",
                "name_da",
                "name_en",
                "instruction_da",
                "instruction_en",
                "recall_period_da",
                "recall_period_en",
                "codes",
            ])
            .values_panic([
                key.clone().into(),
                version.into(),
                name_da.into(),
                name_en.into(),
                instruction_da.into(),
                instruction_en.into(),
                recall_da.into(),
                recall_en.into(),
                codes.into(),
            ])
            .take(),
    )
    .await?;
    for (i, item) in list_of(&def, "items")?.iter().enumerate() {
        m.exec_stmt(
            Query::insert()
                .into_table("questionnaire_items")
                .columns([
                    "questionnaire_key",
                    "version",
                    "item_key",
                    "position",
                    "text_da",
                    "text_en",
                ])
                .values_panic([
                    key.clone().into(),
                    version.into(),
                    text_of(item, "id")?.into(),
                    (i as i32).into(),
                    text_of(item, "da")?.into(),
                    text_of(item, "en")?.into(),
                ])
                .take(),
        )
        .await?;
    }
    for (i, option) in list_of(&def, "options")?.iter().enumerate() {
        m.exec_stmt(
            Query::insert()
                .into_table("questionnaire_options")
                .columns([
                    "questionnaire_key",
                    "version",
                    "value",
                    "position",
                    "label_da",
                    "label_en",
                ])
                .values_panic([
                    key.clone().into(),
                    version.into(),
                    int_of(option, "value")?.into(),
                    (i as i32).into(),
                    text_of(option, "da")?.into(),
                    text_of(option, "en")?.into(),
                ])
                .take(),
        )
        .await?;
    }
    for (i, band) in list_of(&def["scoring"], "bands")?.iter().enumerate() {
        let (min, max) = band_bounds(text_of(band, "range")?)?;
        m.exec_stmt(
            Query::insert()
                .into_table("questionnaire_bands")
                .columns([
                    "questionnaire_key",
                    "version",
                    "band_key",
                    "position",
                    "min_score",
                    "max_score",
                    "label_da",
                    "label_en",
                ])
                .values_panic([
                    key.clone().into(),
                    version.into(),
                    text_of(band, "key")?.into(),
                    (i as i32).into(),
                    min.into(),
                    max.into(),
                    text_of(band, "da")?.into(),
                    text_of(band, "en")?.into(),
                ])
                .take(),
        )
        .await?;
    }
    Ok(())
}
