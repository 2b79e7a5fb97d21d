//! Webhooks (SPEC §4.10): a municipal system subscribes a URL to event types and gets each event of its
//! municipality POSTed there, signed, in feed order, at least once.
//!
//! The events table is the outbox: nothing is sent from inside the transaction that wrote the event.
//! A delivery pass (every instance runs one every few seconds, beside the background jobs) finds
//! subscriptions with an attempt due and claims each with a conditional UPDATE that sets a lease; only
//! the instance whose update changed the row sends, and it records the attempt and moves the
//! subscription on under the same lease. Two instances therefore never send the same attempt.
//!
//! Targets are checked against request forgery when subscribing and again at every delivery: the
//! host is parsed the way the HTTP client will read it, resolved, every address checked, and the
//! connection is made to the checked addresses only (a DNS answer that changes in between is not used).
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, Utc};
use entity::{
    event,
    ids::{MunicipalityId, WebhookId},
    types::{DeliveryOutcome, EventType, InboxKind},
    webhook, webhook_delivery,
};
use hmac::{Hmac, Mac};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use sha2::Sha256;
use url::{Host, Url};
use uuid::Uuid;

use super::{DomainError, DomainResult, access, events, inbox, pagination::PageRequest};
use crate::{
    crypto::{Kek, OpenError, Purpose},
    db::Db,
};

/// Subscribing to every event type.
pub const ALL_EVENTS: &str = "*";
/// Deliveries are retried for this long; then the subscription is disabled.
const GIVE_UP_AFTER_HOURS: i64 = 24;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: u64 = 3600;
/// How long a claim holds: longer than one attempt can take (5 s connect, 10 s in all).
const LEASE_SECS: i64 = 60;
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(5);
const TOTAL_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// At most this much of a receiver's answer is read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Subscriptions looked at per pass, and events sent per subscription per pass.
const SUBSCRIPTIONS_PER_PASS: u64 = 100;
const EVENTS_PER_SUBSCRIPTION: usize = 100;

/// A new subscription, as the caller asked for it.
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

/// What `events` a subscription stored: `None` for every type.
pub fn event_filter(w: &webhook::Model) -> DomainResult<Option<Vec<EventType>>> {
    let names: Vec<String> = serde_json::from_str(&w.events).map_err(|e| {
        DomainError::Internal(format!("webhook {} has unreadable events: {e}", w.id))
    })?;
    if names.iter().any(|n| n == ALL_EVENTS) {
        return Ok(None);
    }
    names
        .iter()
        .map(|n| {
            EventType::parse(n).ok_or_else(|| {
                DomainError::Internal(format!("webhook {} has an unknown event type {n}", w.id))
            })
        })
        .collect::<DomainResult<Vec<_>>>()
        .map(Some)
}

/// The event types asked for, each known or `*`, without repeats; `*` alone when it is among them.
fn parse_events(events: &[String]) -> DomainResult<Vec<String>> {
    let mut errors = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for (i, name) in events.iter().enumerate() {
        if name != ALL_EVENTS && EventType::parse(name).is_none() {
            errors.push(super::FieldError::new(
                format!("events[{i}]"),
                "invalid_value",
                format!(
                    "`{name}` is not an event type; use one of GET /events' `type` values, or `*`"
                ),
            ));
        } else if !out.contains(name) {
            out.push(name.clone());
        }
    }
    if events.is_empty() {
        errors.push(super::FieldError::new(
            "events",
            "min_items",
            "name at least one event type, or `*`",
        ));
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    if out.iter().any(|n| n == ALL_EVENTS) {
        return Ok(vec![ALL_EVENTS.to_string()]);
    }
    Ok(out)
}

fn url_error(message: impl Into<String>) -> DomainError {
    DomainError::field("url", "invalid_value", message)
}

/// True for an IPv4 address a webhook may not reach: this network, loopback, private (RFC 1918),
/// carrier-grade NAT, link-local, the IETF and documentation ranges, benchmarking, multicast, reserved
/// and broadcast.
fn ipv4_refused(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0
        || a == 10
        || a == 127
        || (a == 100 && (b & 0xc0) == 64)
        || (a == 169 && b == 254)
        || (a == 172 && (b & 0xf0) == 16)
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && (b & 0xfe) == 18)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224
}

/// True for an IPv6 address a webhook may not reach: unspecified, loopback, IPv4-mapped,
/// -compatible, NAT64 and 6to4 addresses of a refused IPv4 address, unique local (fc00::/7),
/// link-local, site-local, discard, the IETF and documentation ranges, multicast.
fn ipv6_refused(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return ipv4_refused(v4);
    }
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::a.b.c.d).
    if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return ip.is_unspecified() || ip.is_loopback() || ipv4_refused(embedded(s[6], s[7]));
    }
    // 6to4 (2002:a.b.c.d::/48).
    if s[0] == 0x2002 {
        return ipv4_refused(embedded(s[1], s[2]));
    }
    (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] & 0xff00) == 0xff00
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0])
        || (s[0] == 0x2001 && s[1] < 0x200)
        || (s[0] == 0x2001 && s[1] == 0xdb8)
        || s[0] == 0x3fff
}

/// True for an address a webhook may not reach (see `ipv4_refused`, `ipv6_refused`).
pub fn address_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => ipv4_refused(v4),
        IpAddr::V6(v6) => ipv6_refused(v6),
    }
}

/// Where a delivery goes: the parsed URL and the checked addresses to connect to (empty for an IP
/// literal, which the client connects to as it is).
pub struct Target {
    pub url: Url,
    pub domain: Option<String>,
    pub addrs: Vec<SocketAddr>,
}

/// Parses and checks a webhook URL: `https://` (or `http://` with `allow_private`), no credentials, and
/// a host that is not, and does not resolve to, a refused address (unless `allow_private`). The host
/// is read as the URL parser reads it, so `2130706433`, `0177.0.0.1` and `0x7f.1` are 127.0.0.1.
pub async fn resolve_target(raw: &str, allow_private: bool) -> DomainResult<Target> {
    let url =
        Url::parse(raw.trim()).map_err(|e| url_error(format!("is not an absolute URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(url_error("must use https://")),
        other => return Err(url_error(format!("must use https://, not {other}://"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(url_error("must not carry a user name or password"));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| url_error("has no port"))?;
    let refused = |what: &str| {
        url_error(format!(
            "{what} a loopback, private, link-local or otherwise non-public address; webhooks only go to public addresses"
        ))
    };
    match url.host() {
        None => Err(url_error("has no host")),
        Some(Host::Ipv4(ip)) => {
            if !allow_private && ipv4_refused(ip) {
                return Err(refused("is"));
            }
            Ok(Target {
                url,
                domain: None,
                addrs: vec![],
            })
        }
        Some(Host::Ipv6(ip)) => {
            if !allow_private && ipv6_refused(ip) {
                return Err(refused("is"));
            }
            Ok(Target {
                url,
                domain: None,
                addrs: vec![],
            })
        }
        Some(Host::Domain(domain)) => {
            let domain = domain.to_string();
            let bare = domain.trim_end_matches('.').to_ascii_lowercase();
            if !allow_private && (bare == "localhost" || bare.ends_with(".localhost")) {
                return Err(refused("is"));
            }
            let unresolved = || url_error(format!("the host {domain} could not be resolved"));
            let lookup = tokio::net::lookup_host((domain.as_str(), port));
            let addrs: Vec<SocketAddr> = tokio::time::timeout(CONNECT_TIMEOUT, lookup)
                .await
                .map_err(|_| unresolved())?
                .map_err(|_| unresolved())?
                .collect();
            if addrs.is_empty() {
                return Err(url_error(format!("the host {domain} has no address")));
            }
            if !allow_private && addrs.iter().any(|a| address_refused(a.ip())) {
                return Err(refused("resolves to"));
            }
            Ok(Target {
                url,
                domain: Some(domain),
                addrs,
            })
        }
    }
}

/// A new signing secret (32 random bytes, base64url, with a recognisable prefix).
fn new_secret() -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill(&mut bytes);
    format!("whsec_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Creates a subscription; returns it with its secret, which is stored only sealed. New
/// subscriptions start at the end of the feed: they get the events written from now on.
pub async fn create(
    db: &Db,
    kek: &Kek,
    municipality_id: MunicipalityId,
    created_by: Uuid,
    new: NewWebhook,
    allow_private: bool,
) -> DomainResult<(webhook::Model, String)> {
    let events = parse_events(&new.events)?;
    let target = resolve_target(&new.url, allow_private).await?;
    let description = new
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let id = WebhookId::generate();
    let secret = new_secret();
    access::note_secret();
    let now = Utc::now();
    let txn = db.begin().await?;
    let last_seq = entity::event_counter::Entity::find_by_id(municipality_id)
        .one(&txn)
        .await?
        .map(|c| c.last_seq)
        .ok_or(DomainError::NotFound)?;
    let model = webhook::ActiveModel {
        id: Set(id),
        municipality_id: Set(municipality_id),
        url: Set(target.url.to_string()),
        events: Set(serde_json::to_string(&events).expect("strings serialise")),
        description: Set(description),
        secret: Set(kek.seal(Purpose::WebhookSecret, &id.to_string(), secret.as_bytes())),
        created_by: Set(created_by),
        created_at: Set(now),
        deleted_at: Set(None),
        disabled_at: Set(None),
        delivered_seq: Set(last_seq),
        attempts: Set(0),
        failing_since: Set(None),
        next_attempt_at: Set(now),
        lease_token: Set(None),
        lease_until: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((model, secret))
}

fn live_in(municipality_id: MunicipalityId) -> Condition {
    Condition::all()
        .add(webhook::Column::MunicipalityId.eq(municipality_id))
        .add(webhook::Column::DeletedAt.is_null())
}

/// The municipality's subscriptions (disabled ones included), oldest first.
pub async fn list(
    db: &Db,
    municipality_id: MunicipalityId,
    page: PageRequest,
) -> DomainResult<(Vec<webhook::Model>, Option<String>)> {
    let mut q = webhook::Entity::find()
        .filter(live_in(municipality_id))
        .order_by_asc(webhook::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(webhook::Column::Id.gt(WebhookId(after)));
    }
    Ok(page.read(q, db.read(), |w| w.id.0).await?)
}

/// One subscription of the municipality; `NotFound` for another municipality's or a deleted one.
pub async fn find(
    db: &Db,
    municipality_id: MunicipalityId,
    id: WebhookId,
) -> DomainResult<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .filter(live_in(municipality_id))
        .one(db.read())
        .await?
        .ok_or(DomainError::NotFound)
}

/// Deletes a subscription: nothing more is sent (an attempt under way finishes). Its delivery log
/// is kept with it.
pub async fn delete(db: &Db, municipality_id: MunicipalityId, id: WebhookId) -> DomainResult<()> {
    let res = webhook::Entity::update_many()
        .col_expr(webhook::Column::DeletedAt, Expr::value(Utc::now()))
        .filter(webhook::Column::Id.eq(id))
        .filter(live_in(municipality_id))
        .exec(db.write())
        .await?;
    if res.rows_affected == 0 {
        return Err(DomainError::NotFound);
    }
    Ok(())
}

/// A subscription's delivery attempts, newest first.
pub async fn deliveries(
    db: &Db,
    municipality_id: MunicipalityId,
    id: WebhookId,
    page: PageRequest,
) -> DomainResult<(Vec<webhook_delivery::Model>, Option<String>)> {
    find(db, municipality_id, id).await?;
    let mut q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .order_by_desc(webhook_delivery::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(webhook_delivery::Column::Id.lt(after));
    }
    Ok(page.read(q, db.read(), |d| d.id).await?)
}

/// Re-seals every webhook secret under a new key-encryption key (`keys rewrap`); call in its
/// transaction. Returns how many.
pub async fn rewrap<C: ConnectionTrait>(txn: &C, old: &Kek, new: &Kek) -> DomainResult<usize> {
    let rows = webhook::Entity::find().all(txn).await?;
    for row in &rows {
        let id = row.id.to_string();
        let secret = old
            .open(Purpose::WebhookSecret, &id, &row.secret)
            .map_err(|e: OpenError| DomainError::Internal(format!("webhook {id}: {e}")))?;
        webhook::Entity::update_many()
            .col_expr(
                webhook::Column::Secret,
                Expr::value(new.seal(Purpose::WebhookSecret, &id, &secret)),
            )
            .filter(webhook::Column::Id.eq(row.id))
            .exec(txn)
            .await?;
    }
    Ok(rows.len())
}

/// What the delivery pass needs.
pub struct Deliverer<'a> {
    pub db: &'a Db,
    pub kek: &'a Kek,
    pub allow_private: bool,
    pub retry_base_secs: u64,
}

/// The wait before attempt `attempts + 1`: base × 2^(attempts − 1), at most an hour, ±20 % jitter.
fn backoff(base_secs: u64, attempts: i32) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let secs = base_secs
        .max(1)
        .saturating_mul(1 << exp)
        .min(MAX_BACKOFF_SECS) as f64;
    let jitter = rand::thread_rng().gen_range(0.8..=1.2);
    Duration::milliseconds((secs * jitter * 1000.0) as i64)
}

/// The outcome of one HTTP attempt.
struct Sent {
    status: Option<u16>,
    error: Option<String>,
    duration_ms: i64,
}

impl Sent {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Deliverer<'_> {
    /// One delivery pass at `now` (the clock is passed in so that tests can move it): every
    /// subscription with an attempt due gets its next events, in order, until one fails. Returns how
    /// many attempts were made.
    pub async fn run(&self, now: DateTime<Utc>) -> DomainResult<usize> {
        let due = webhook::Entity::find()
            .filter(webhook::Column::DeletedAt.is_null())
            .filter(webhook::Column::DisabledAt.is_null())
            .filter(webhook::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(webhook::Column::LeaseUntil.is_null())
                    .add(webhook::Column::LeaseUntil.lt(now)),
            )
            .order_by_asc(webhook::Column::NextAttemptAt)
            .limit(SUBSCRIPTIONS_PER_PASS)
            .all(self.db.write())
            .await?;
        let mut attempts = 0;
        let mut last_seqs = std::collections::HashMap::new();
        for w in due {
            // Nothing new in the feed: no claim, so idle subscriptions cost one read per pass.
            let last_seq = match last_seqs.get(&w.municipality_id) {
                Some(&seq) => seq,
                None => {
                    let seq = entity::event_counter::Entity::find_by_id(w.municipality_id)
                        .one(self.db.read())
                        .await?
                        .map_or(0, |c| c.last_seq);
                    last_seqs.insert(w.municipality_id, seq);
                    seq
                }
            };
            if last_seq <= w.delivered_seq {
                continue;
            }
            match self.work(w.id, now).await {
                Ok(n) => attempts += n,
                Err(e) => {
                    tracing::error!(error = %e, webhook = %w.id, "webhook delivery failed");
                }
            }
        }
        Ok(attempts)
    }

    /// Claims the subscription: sets a lease only if no other instance holds one and an attempt is
    /// due. Only the instance whose update changed the row goes on.
    async fn claim(&self, id: WebhookId, now: DateTime<Utc>) -> DomainResult<Option<Uuid>> {
        let token = Uuid::now_v7();
        let res = webhook::Entity::update_many()
            .col_expr(webhook::Column::LeaseToken, Expr::value(token))
            .col_expr(
                webhook::Column::LeaseUntil,
                Expr::value(now + Duration::seconds(LEASE_SECS)),
            )
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::DeletedAt.is_null())
            .filter(webhook::Column::DisabledAt.is_null())
            .filter(webhook::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(webhook::Column::LeaseUntil.is_null())
                    .add(webhook::Column::LeaseUntil.lt(now)),
            )
            .exec(self.db.write())
            .await?;
        Ok((res.rows_affected == 1).then_some(token))
    }

    /// Gives the lease back without an attempt (nothing to send), past the events the filter skipped
    /// (`seq` was read under this lease, so it never moves the subscription back).
    async fn release(&self, id: WebhookId, token: Uuid, seq: i64) -> DomainResult<()> {
        webhook::Entity::update_many()
            .col_expr(
                webhook::Column::LeaseToken,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                webhook::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(webhook::Column::DeliveredSeq, Expr::value(seq))
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::LeaseToken.eq(token))
            .exec(self.db.write())
            .await?;
        Ok(())
    }

    /// The next event after `after` the filter wants, and the last feed position looked at.
    async fn next_event(
        &self,
        w: &webhook::Model,
        filter: &Option<Vec<EventType>>,
    ) -> DomainResult<(Option<event::Model>, i64)> {
        let mut after = w.delivered_seq;
        loop {
            let rows = events::list(self.db.write(), w.municipality_id, after, 200).await?;
            let Some(last) = rows.last().map(|e| e.seq) else {
                return Ok((None, after));
            };
            if let Some(e) = rows
                .into_iter()
                .find(|e| filter.as_ref().is_none_or(|f| f.contains(&e.event_type)))
            {
                return Ok((Some(e), after));
            }
            after = last;
        }
    }

    async fn work(&self, id: WebhookId, now: DateTime<Utc>) -> DomainResult<usize> {
        let mut attempts = 0;
        for _ in 0..EVENTS_PER_SUBSCRIPTION {
            let Some(token) = self.claim(id, now).await? else {
                break;
            };
            // Read under the lease: another instance may have moved the subscription on since.
            let w = webhook::Entity::find_by_id(id)
                .one(self.db.write())
                .await?
                .ok_or(DomainError::NotFound)?;
            let filter = event_filter(&w)?;
            let (event, skipped_to) = self.next_event(&w, &filter).await?;
            let Some(event) = event else {
                self.release(id, token, skipped_to).await?;
                break;
            };
            let secret = self
                .kek
                .open(Purpose::WebhookSecret, &w.id.to_string(), &w.secret)
                .map_err(|e| DomainError::Internal(format!("webhook {}: {e}", w.id)))?;
            let secret = String::from_utf8(secret)
                .map_err(|_| DomainError::Internal(format!("webhook {}: secret not text", w.id)))?;
            let body = events::document(&event).to_string();
            let sent = self.send(&w, &secret, &event, body.as_bytes()).await;
            attempts += 1;
            let delivered = sent.ok();
            if !self.finish(&w, token, &event, sent, now).await? || !delivered {
                break;
            }
        }
        Ok(attempts)
    }

    /// POSTs the event: checked addresses only, no redirects, 5 s to connect, 10 s in all, at most
    /// 64 KiB of the answer read.
    async fn send(
        &self,
        w: &webhook::Model,
        secret: &str,
        event: &event::Model,
        body: &[u8],
    ) -> Sent {
        let started = Instant::now();
        let result = async {
            let target = resolve_target(&w.url, self.allow_private)
                .await
                .map_err(|e| match e {
                    DomainError::Invalid(errors) => errors
                        .first()
                        .map(|f| format!("url {}", f.message))
                        .unwrap_or_else(|| "url refused".into()),
                    other => other.to_string(),
                })?;
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(TOTAL_TIMEOUT)
                .no_proxy()
                .https_only(!self.allow_private)
                .user_agent("IPS-Ung-Webhooks/1");
            if let Some(domain) = &target.domain {
                builder = builder.resolve_to_addrs(domain, &target.addrs);
            }
            let client = builder.build().map_err(|e| format!("client: {e}"))?;
            let t = Utc::now().timestamp();
            let mut resp = client
                .post(target.url)
                .header("content-type", "application/json")
                .header("x-ips-signature", signature(secret, t, body))
                .header("x-ips-event-id", event.id.to_string())
                .body(body.to_vec())
                .send()
                .await
                .map_err(describe)?;
            let status = resp.status().as_u16();
            let mut read = 0usize;
            while read < MAX_RESPONSE_BYTES {
                match resp.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    Ok(None) | Err(_) => break,
                }
            }
            Ok::<u16, String>(status)
        }
        .await;
        let duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        match result {
            Ok(status) => Sent {
                status: Some(status),
                error: (!(200..300).contains(&status))
                    .then(|| format!("the receiver answered {status}")),
                duration_ms,
            },
            Err(error) => Sent {
                status: None,
                error: Some(error.chars().take(500).collect()),
                duration_ms,
            },
        }
    }

    /// Records the attempt and moves the subscription on, under the lease; false when the lease was
    /// lost (nothing recorded).
    async fn finish(
        &self,
        w: &webhook::Model,
        token: Uuid,
        event: &event::Model,
        sent: Sent,
        now: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let attempt = w.attempts + 1;
        let delivered = sent.ok();
        let failing_since = w.failing_since.unwrap_or(now);
        let give_up = !delivered && now - failing_since >= Duration::hours(GIVE_UP_AFTER_HOURS);
        let next_retry =
            (!delivered && !give_up).then(|| now + backoff(self.retry_base_secs, attempt));
        let outcome = match (delivered, give_up) {
            (true, _) => DeliveryOutcome::Delivered,
            (false, false) => DeliveryOutcome::Retrying,
            (false, true) => DeliveryOutcome::Failed,
        };
        let txn = self.db.begin().await?;
        let mut update = webhook::Entity::update_many()
            .col_expr(
                webhook::Column::LeaseToken,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                webhook::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
        update = if delivered {
            update
                .col_expr(webhook::Column::DeliveredSeq, Expr::value(event.seq))
                .col_expr(webhook::Column::Attempts, Expr::value(0))
                .col_expr(
                    webhook::Column::FailingSince,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(webhook::Column::NextAttemptAt, Expr::value(now))
        } else {
            let update = update
                .col_expr(webhook::Column::Attempts, Expr::value(attempt))
                .col_expr(webhook::Column::FailingSince, Expr::value(failing_since))
                .col_expr(
                    webhook::Column::NextAttemptAt,
                    Expr::value(next_retry.unwrap_or(now)),
                );
            if give_up {
                update.col_expr(webhook::Column::DisabledAt, Expr::value(now))
            } else {
                update
            }
        };
        let res = update
            .filter(webhook::Column::Id.eq(w.id))
            .filter(webhook::Column::LeaseToken.eq(token))
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            txn.rollback().await?;
            tracing::warn!(webhook = %w.id, "a webhook lease ran out during an attempt");
            return Ok(false);
        }
        webhook_delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            webhook_id: Set(w.id),
            event_id: Set(event.id),
            event_seq: Set(event.seq),
            event_type: Set(event.event_type),
            attempted_at: Set(now),
            attempt: Set(attempt),
            outcome: Set(outcome),
            status_code: Set(sent.status.map(i32::from)),
            error: Set(sent.error),
            duration_ms: Set(sent.duration_ms),
            next_retry_at: Set(next_retry),
        }
        .insert(&txn)
        .await?;
        if give_up {
            inbox::add_for_coordinators(
                &txn,
                w.municipality_id,
                InboxKind::WebhookDisabled,
                Some(w.id.0),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(true)
    }
}

/// A transport error in a few words (reqwest's own text names the URL, which the log already has).
fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(&e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(
                address_refused(ip.parse().unwrap()),
                "{ip} should be refused"
            );
        }
        for ip in [
            "1.1.1.1",
            "93.184.215.14",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(
                !address_refused(ip.parse().unwrap()),
                "{ip} should be allowed"
            );
        }
    }

    #[test]
    fn backoff_grows_and_stops_at_an_hour() {
        let b1 = backoff(10, 1).num_milliseconds();
        assert!((8_000..=12_000).contains(&b1), "{b1}");
        let b4 = backoff(10, 4).num_milliseconds();
        assert!((64_000..=96_000).contains(&b4), "{b4}");
        assert!(backoff(10, 30).num_milliseconds() <= 4_320_000);
    }
}
