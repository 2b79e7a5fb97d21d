//! One database connection on either backend, with bulk inserts: multi-row `INSERT … VALUES` on
//! SQLite, `INSERT … SELECT * FROM UNNEST($1::uuid[], …)` on PostgreSQL (one array per column, so a
//! batch of thousands of rows is one statement with a handful of parameters).
//!
//! Values are bound as the same Rust types the server's entities use (`Uuid`, `DateTime<Utc>`,
//! `NaiveDate`, …) through the sqlx that sea-orm re-exports, so they are stored exactly as the server
//! stores them (on SQLite: ids as 16-byte blobs, timestamps as RFC 3339 text).
use chrono::{DateTime, NaiveDate, Utc};
// The statements here are built from this crate's constants, never from input.
use sea_orm::sqlx::{
    self, AssertSqlSafe, Connection, PgConnection, SqliteConnection, postgres::PgConnectOptions,
    sqlite::SqliteConnectOptions,
};
use std::str::FromStr;
use uuid::Uuid;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// The type of a column, as the migrations declare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    I32,
    I64,
    Bool,
    Ts,
    Date,
}

impl Kind {
    fn pg_array(self) -> &'static str {
        match self {
            Kind::Uuid => "uuid[]",
            Kind::Text => "text[]",
            Kind::I32 => "int4[]",
            Kind::I64 => "int8[]",
            Kind::Bool => "bool[]",
            Kind::Ts => "timestamptz[]",
            Kind::Date => "date[]",
        }
    }
}

/// One cell. `Null` takes its type from the column.
#[derive(Clone, Debug)]
pub enum V {
    Uuid(Uuid),
    Text(String),
    I32(i32),
    I64(i64),
    Bool(bool),
    Ts(DateTime<Utc>),
    Date(NaiveDate),
    Null,
}

impl From<Uuid> for V {
    fn from(v: Uuid) -> Self {
        V::Uuid(v)
    }
}
impl From<String> for V {
    fn from(v: String) -> Self {
        V::Text(v)
    }
}
impl From<&str> for V {
    fn from(v: &str) -> Self {
        V::Text(v.to_string())
    }
}
impl From<i32> for V {
    fn from(v: i32) -> Self {
        V::I32(v)
    }
}
impl From<i64> for V {
    fn from(v: i64) -> Self {
        V::I64(v)
    }
}
impl From<bool> for V {
    fn from(v: bool) -> Self {
        V::Bool(v)
    }
}
impl From<DateTime<Utc>> for V {
    fn from(v: DateTime<Utc>) -> Self {
        V::Ts(v)
    }
}
impl From<NaiveDate> for V {
    fn from(v: NaiveDate) -> Self {
        V::Date(v)
    }
}
impl<T: Into<V>> From<Option<T>> for V {
    fn from(v: Option<T>) -> Self {
        v.map_or(V::Null, Into::into)
    }
}

/// A table and its columns in insert order.
pub struct Table {
    pub name: &'static str,
    pub cols: &'static [(&'static str, Kind)],
}

pub enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl Conn {
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .foreign_keys(true)
                .busy_timeout(std::time::Duration::from_secs(30));
            Ok(Conn::Sqlite(SqliteConnection::connect_with(&opts).await?))
        } else {
            let opts = PgConnectOptions::from_str(url)?;
            Ok(Conn::Pg(PgConnection::connect_with(&opts).await?))
        }
    }

    pub fn is_pg(&self) -> bool {
        matches!(self, Conn::Pg(_))
    }

    /// Runs statements without parameters (several may be separated by `;`).
    pub async fn exec(&mut self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(c) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                    .execute(c)
                    .await?;
            }
            Conn::Pg(c) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                    .execute(c)
                    .await?;
            }
        }
        Ok(())
    }

    /// The first column of every row, as text (for `EXPLAIN` and small look-ups).
    pub async fn texts(&mut self, sql: &str) -> Result<Vec<String>> {
        use sqlx::Row;
        Ok(match self {
            Conn::Sqlite(c) => sqlx::query(AssertSqlSafe(sql.to_string()))
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
                .collect(),
            Conn::Pg(c) => sqlx::query(AssertSqlSafe(sql.to_string()))
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
                .collect(),
        })
    }

    /// `EXPLAIN QUERY PLAN` on SQLite, indented as the sqlite3 shell shows it.
    pub async fn sqlite_query_plan(&mut self, sql: &str) -> Result<String> {
        use sqlx::Row;
        let Conn::Sqlite(c) = self else {
            return Err("not SQLite".into());
        };
        let rows = sqlx::query(AssertSqlSafe(sql.to_string()))
            .fetch_all(c)
            .await?;
        // (id, parent, detail); a node is indented one step deeper than its parent.
        let mut depth: std::collections::HashMap<i64, usize> = Default::default();
        let mut out = Vec::new();
        for r in rows {
            let id: i64 = r.try_get(0)?;
            let parent: i64 = r.try_get(1)?;
            let detail: String = r.try_get(3)?;
            let d = depth.get(&parent).map_or(0, |d| d + 1);
            depth.insert(id, d);
            out.push(format!("{}{detail}", "  ".repeat(d)));
        }
        Ok(out.join("\n"))
    }

    pub async fn close(self) {
        let _ = match self {
            Conn::Sqlite(c) => c.close().await,
            Conn::Pg(c) => c.close().await,
        };
    }

    /// Inserts the rows, in as few statements as the backend allows.
    pub async fn insert(&mut self, table: &Table, rows: &[Vec<V>]) -> Result<()> {
        for row in rows {
            if row.len() != table.cols.len() {
                return Err(format!(
                    "{}: a row has {} values for {} columns",
                    table.name,
                    row.len(),
                    table.cols.len()
                )
                .into());
            }
        }
        match self {
            Conn::Sqlite(c) => {
                // SQLite allows 32,766 parameters per statement.
                let per = (30_000 / table.cols.len()).clamp(1, 500);
                for chunk in rows.chunks(per) {
                    let sql = sqlite_insert(table, chunk.len());
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for row in chunk {
                        for v in row {
                            q = match v.clone() {
                                V::Uuid(x) => q.bind(x),
                                V::Text(x) => q.bind(x),
                                V::I32(x) => q.bind(x),
                                V::I64(x) => q.bind(x),
                                V::Bool(x) => q.bind(x),
                                V::Ts(x) => q.bind(x),
                                V::Date(x) => q.bind(x),
                                V::Null => q.bind(None::<String>),
                            };
                        }
                    }
                    q.execute(&mut *c).await?;
                }
            }
            Conn::Pg(c) => {
                for chunk in rows.chunks(10_000) {
                    let sql = pg_insert(table);
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for (i, (name, kind)) in table.cols.iter().enumerate() {
                        let column = chunk.iter().map(|r| &r[i]);
                        let bad = || format!("{}.{name}: a value of another type", table.name);
                        // One typed array per column; a cell of another type is a bug in the seeder.
                        macro_rules! array {
                            ($variant:ident) => {
                                q.bind(
                                    column
                                        .map(|v| match v {
                                            V::$variant(x) => Ok(Some(x.clone())),
                                            V::Null => Ok(None),
                                            _ => Err(bad()),
                                        })
                                        .collect::<std::result::Result<Vec<_>, _>>()?,
                                )
                            };
                        }
                        q = match kind {
                            Kind::Uuid => array!(Uuid),
                            Kind::Text => array!(Text),
                            Kind::I32 => array!(I32),
                            Kind::I64 => array!(I64),
                            Kind::Bool => array!(Bool),
                            Kind::Ts => array!(Ts),
                            Kind::Date => array!(Date),
                        };
                    }
                    q.execute(&mut *c).await?;
                }
            }
        }
        Ok(())
    }
}

fn column_list(table: &Table) -> String {
    table
        .cols
        .iter()
        .map(|(n, _)| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sqlite_insert(table: &Table, rows: usize) -> String {
    let one = format!("({})", vec!["?"; table.cols.len()].join(","));
    format!(
        "INSERT INTO \"{}\" ({}) VALUES {}",
        table.name,
        column_list(table),
        vec![one.as_str(); rows].join(",")
    )
}

fn pg_insert(table: &Table) -> String {
    let arrays: Vec<String> = table
        .cols
        .iter()
        .enumerate()
        .map(|(i, (_, k))| format!("${}::{}", i + 1, k.pg_array()))
        .collect();
    format!(
        "INSERT INTO \"{}\" ({}) SELECT * FROM UNNEST({})",
        table.name,
        column_list(table),
        arrays.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table = Table {
        name: "t",
        cols: &[("id", Kind::Uuid), ("n", Kind::I32)],
    };

    #[test]
    fn statements() {
        assert_eq!(
            sqlite_insert(&T, 2),
            "INSERT INTO \"t\" (\"id\", \"n\") VALUES (?,?),(?,?)"
        );
        assert_eq!(
            pg_insert(&T),
            "INSERT INTO \"t\" (\"id\", \"n\") SELECT * FROM UNNEST($1::uuid[], $2::int4[])"
        );
    }
}
