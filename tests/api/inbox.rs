//! The rating inbox (`rating_inbox = "always"` here, so that every rating without an
//! invitation goes through it): its ratings end exactly as ratings written straight through,
//! an invitation is still used up at once, and a row that cannot be read is kept.

use std::time::{Duration, Instant};

use pingyi::domain::rating::{Outcome, Scale, Submission};
use pingyi::ingest::InboxMode;
use pingyi::store::rating_codes::Target;
use pingyi::store::ratings::{NewRating, Source, Stamp, inbox};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::{Engine, TestApp, error_code, spawn_app_with};
use crate::ratings::{code_of, rate};

async fn inbox_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |c| c.rating_inbox = InboxMode::Always).await
}

/// Waits until the writer has projected everything readable in the inbox.
pub async fn drained(store: &pingyi::store::Store) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (n, _) = inbox::backlog(store).await.unwrap();
        if n == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{n} ratings still in the inbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn one_row(app: &TestApp, sql: &str, id: &str) -> sqlx::any::AnyRow {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(id).fetch_one(app.store.pool()).await.unwrap()
}

async fn inbox_ratings_end_as_ratings_written_straight_through(engine: Engine) {
    use sqlx::Row;
    let app = inbox_app(engine).await;
    let units = ["XN-CD-GA-001", "XN-CD-GA-002", "XN-CD-GA-001-W1"];
    let mut codes = Vec::new();
    for u in units {
        codes.push(code_of(&app, u).await);
    }
    let before = pingyi::store::now_ms();
    // Forty ratings at once, so that batches of several go to the inbox together.
    let c = app.anonymous();
    let bodies: Vec<Value> = (0..40)
        .map(|i| match i % 4 {
            0 => json!({"code": codes[i % 3], "satisfied": false, "reasons": ["harsh_words"], "comment": format!("第{i}位"), "phone": "13912345678", "consent": true}),
            1 => json!({"code": codes[i % 3], "satisfied": false, "reasons": ["not_done"]}),
            _ => json!({"code": codes[i % 3], "satisfied": true}),
        })
        .collect();
    let sent: Vec<_> = bodies
        .iter()
        .map(|b| {
            let (http, url, b) = (c.http.clone(), app.url("/api/v1/ratings"), b.clone());
            tokio::spawn(async move { http.post(url).json(&b).send().await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for s in sent {
        answers.push(s.await.unwrap());
    }
    let after = pingyi::store::now_ms();
    let mut receipts = Vec::new();
    for (r, body) in answers.into_iter().zip(&bodies) {
        assert_eq!(r.status(), StatusCode::CREATED, "{body}");
        receipts.push((r.json::<Value>().await.unwrap(), body.clone()));
    }
    drained(&app.store).await;

    for (receipt, body) in &receipts {
        let id = receipt["id"].as_str().unwrap();
        let row = one_row(
            &app,
            "select outcome, created_at, phone_masked, phone_enc, comment from ratings where id = $1",
            id,
        )
        .await;
        let at: i64 = row.get("created_at");
        assert!((before..=after).contains(&at), "received between the request's start and its 201");
        let unsatisfied = body["satisfied"] == false;
        assert_eq!(row.get::<String, _>("outcome"), if unsatisfied { "unsatisfied" } else { "satisfied" });
        if body.get("phone").is_some() {
            assert_eq!(row.get::<Option<String>, _>("phone_masked").as_deref(), Some("139****5678"));
            let sealed: String = row.get("phone_enc");
            assert!(!sealed.contains("13912345678"), "the phone is sealed");
            assert_eq!(row.get::<Option<String>, _>("comment"), body["comment"].as_str().map(str::to_owned));
        }
        let cases: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from cases where rating_id = $1")
            .bind(id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_eq!(cases, i64::from(unsatisfied), "one case for each unsatisfied rating, none for the others");
        if unsatisfied {
            // The case and its clock start when the rating was received, not when it was projected.
            let case = one_row(&app, "select c.created_at, k.started_at from cases c join sla_clocks k on k.id = c.clock_id where c.rating_id = $1", id).await;
            assert_eq!((case.get::<i64, _>("created_at"), case.get::<i64, _>("started_at")), (at, at));
        }
        let audited: i64 = sqlx::query_scalar(
            "select cast(count(*) as bigint) from audit_log where action = 'rating.submit' and target = $1",
        )
        .bind(format!("rating:{id}"))
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!(audited, 1);
    }
    let incremental = pingyi::store::rollups::snapshot(&app.store).await.unwrap();
    pingyi::store::rollups::recompute_ratings(&app.store).await.unwrap();
    assert_eq!(
        incremental,
        pingyi::store::rollups::snapshot(&app.store).await.unwrap(),
        "the rollups count each rating once"
    );
    let rows: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from rating_inbox")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(rows, 0, "every projected row left the inbox");
    assert!(matches!(
        pingyi::store::audit::verify(&app.store, &crate::helpers::audit_key()).await.unwrap(),
        pingyi::store::audit::Verdict::Intact(_)
    ));

    // An invitation never waits in the inbox: it is used up by its own commit.
    let staff = app.login("staff").await;
    let inv: Value = staff
        .post_json("/api/v1/invitations", &json!({"org_code": "XN-CD-GA-001-W1", "transaction_ref": "INBOX-1"}))
        .await
        .json()
        .await
        .unwrap();
    let token = inv["token"].as_str().unwrap();
    assert_eq!(rate(&c, json!({"code": token, "satisfied": true})).await.status(), StatusCode::CREATED);
    let second = rate(&c, json!({"code": token, "satisfied": false, "reasons": ["not_done"]})).await;
    assert_eq!((second.status(), error_code(second).await.as_str()), (StatusCode::GONE, "invitation_used"));
}

async fn an_unreadable_inbox_row_is_kept_and_the_rest_projected(engine: Engine) {
    let app = inbox_app(engine).await;
    sqlx::query("insert into rating_inbox (received_at, ratings, body) values ($1, 1, $2)")
        .bind(pingyi::store::now_ms())
        .bind("[{\"not\": \"a rating\"}]")
        .execute(app.store.pool())
        .await
        .unwrap();
    let code = code_of(&app, "XN-CD-GA-001").await;
    let r = rate(&app.anonymous(), json!({"code": code, "satisfied": true})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    drained(&app.store).await;
    let found: Option<String> = sqlx::query_scalar("select id from ratings where id = $1")
        .bind(&id)
        .fetch_optional(app.store.pool())
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(id.as_str()), "the rating behind the unreadable row was projected");
    assert_eq!(inbox::unreadable(&app.store).await.unwrap(), 1, "the unreadable row is kept, with its error");
    let metrics = app.anonymous().get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("\npingyi_rating_inbox_unreadable 1\n"), "an operator can see it: {metrics}");
    let error: Option<String> =
        sqlx::query_scalar("select error from rating_inbox").fetch_one(app.store.pool()).await.unwrap();
    assert!(error.is_some_and(|e| e.contains("missing field")));
    // The operator deals with the row (here: deletes it); the next count (every minute) sees it.
    sqlx::query("delete from rating_inbox where error is not null").execute(app.store.pool()).await.unwrap();
    app.ratings.count_unreadable(&app.store).await;
    let metrics = app.anonymous().get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("\npingyi_rating_inbox_unreadable 0\n"), "the gauge follows the operator: {metrics}");
}

/// A rating for `unit`'s code waiting in the inbox, as the writer would have appended it.
fn waiting(id: &str, at: i64, target: &Target, device: &str, flags: &[&str]) -> inbox::Pending {
    inbox::Pending {
        stamp: Stamp { id: id.to_owned(), at },
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        rating: NewRating {
            code_id: Some(target.id.clone()),
            invitation_id: None,
            target: target.clone(),
            scale: Scale::Two,
            submission: Submission {
                level: 1,
                outcome: Outcome::Unsatisfied,
                reasons: vec!["not_done".into()],
                comment: None,
                phone: None,
            },
            phone_enc: None,
            phone_masked: None,
            device_hash: device.to_owned(),
            address_hash: format!("{device}-address"),
            source: Source::Api,
            reason_labels: vec!["事难办".into()],
            request_key: None,
        },
    }
}

/// A server whose writer goes straight through (so it leaves the rows a test puts in the inbox
/// alone), with one satisfied rating of XN-CD-GA-001's code: the code's target, the rating's id
/// and its time.
async fn app_with_one_rating(engine: Engine) -> (TestApp, Target, String, i64) {
    let app = spawn_app_with(engine, |c| c.rating_inbox = InboxMode::Never).await;
    let token = code_of(&app, "XN-CD-GA-001").await;
    let r = rate(&app.anonymous(), json!({"code": token, "satisfied": true})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let row = one_row(&app, "select org_code, unit_code, code_id, created_at from ratings where id = $1", &id).await;
    let target = Target {
        id: row.get("code_id"),
        org_code: row.get("org_code"),
        org_name: "窗口".into(),
        unit_code: row.get("unit_code"),
        unit_name: "单位".into(),
        staff_no: None,
        staff_name: None,
        closed: false,
        expired: false,
    };
    let at = row.get("created_at");
    (app, target, id, at)
}

/// Projects the whole inbox on `conn`, a chunk at a time; the ratings of each projection.
async fn project_all(app: &TestApp, conn: &mut sqlx::AnyConnection) -> Vec<usize> {
    let (mut cache, mut steps) = (Default::default(), Default::default());
    let mut taken = Vec::new();
    loop {
        let done = inbox::project(&app.store, conn, &app.ratings.calendar, &mut cache, &mut steps, 32).await.unwrap();
        taken.push(done.ratings);
        if !done.more {
            return taken;
        }
    }
}

/// A rating acknowledged but still in the inbox can be read by id (marked pending, the phone
/// masked or not by role as always), is not yet open to appeal (409, not a 500 or a 404), and
/// once projected reads the same, no longer pending, and can be appealed.
async fn a_rating_in_the_inbox_reads_as_pending(engine: Engine) {
    let (app, target, _, at) = app_with_one_rating(engine).await;
    let id = pingyi::store::new_id();
    let path = format!("/api/v1/ratings/{id}");
    let mut p = waiting(&id, at + 5, &target, "device-pending", &[]);
    p.rating.phone_enc = Some(app.ratings.sealer.seal("13812345678"));
    p.rating.phone_masked = Some("138****5678".into());
    let mut conn = app.store.dedicated_connection().await.unwrap();
    inbox::append(&mut conn, at + 5, &[p]).await.unwrap();

    let head = app.login("unithead").await;
    let v = head.get_json(&path, StatusCode::OK).await;
    assert_eq!(
        (v["pending"].as_bool(), v["outcome"].as_str(), v["phone"].as_str()),
        (Some(true), Some("unsatisfied"), Some("138****5678"))
    );
    assert_eq!(
        (v["created_at"].as_i64(), v["source"].as_str(), v["unit_code"].as_str()),
        (Some(at + 5), Some("api"), Some(target.unit_code.as_str()))
    );
    assert_eq!(v["reasons"], json!(["not_done"]));
    let sup = app.login("supervisor").await.get_json(&path, StatusCode::OK).await;
    assert_eq!(sup["phone"], "13812345678", "the role that calls back sees the number");
    let appeal = json!({"reason": "评价人当天未到本所办事"});
    let r = head.post_json(&format!("{path}/appeal"), &appeal).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, "conflict");
    let unknown = [
        pingyi::store::new_id(),
        format!("{}%25", &id[..25]),
        format!("{}_", &id[..25]),
        // An id of another time (only rows received within a minute of it are searched).
        format!("0000000001{}", &id[10..]),
    ];
    for unknown in unknown {
        assert_eq!(head.get(&format!("/api/v1/ratings/{unknown}")).await.status(), StatusCode::NOT_FOUND, "{unknown}");
    }

    assert_eq!(project_all(&app, &mut conn).await, vec![1]);
    let after = head.get_json(&path, StatusCode::OK).await;
    assert_eq!(after["pending"], false);
    for field in ["outcome", "phone", "created_at", "source", "unit_code", "reasons", "flags", "level", "scale"] {
        assert_eq!(after[field], v[field], "{field} reads the same once projected");
    }
    assert_eq!(head.post_json(&format!("{path}/appeal"), &appeal).await.status(), StatusCode::CREATED);
}

/// Several server processes on one PostgreSQL: one projects at a time (an advisory lock), the
/// others are told it is busy and leave the rows alone rather than failing on their ids.
async fn one_process_projects_the_inbox_at_a_time(engine: Engine) {
    let (app, target, _, at) = app_with_one_rating(engine).await;
    let rows: Vec<inbox::Pending> =
        (0..3).map(|i| waiting(&format!("locked-{i}"), at + 1, &target, &format!("device-{i}"), &[])).collect();
    let mut conn = app.store.dedicated_connection().await.unwrap();
    inbox::append(&mut conn, at + 1, &rows).await.unwrap();
    let lock = |sql: &'static str| {
        let store = app.store.clone();
        async move {
            let mut other = store.dedicated_connection().await.unwrap();
            let got: bool = sqlx::query_scalar(sql).bind(inbox::PROJECTION_LOCK).fetch_one(&mut other).await.unwrap();
            (other, got)
        }
    };
    if engine == Engine::Postgres {
        // Another process is projecting.
        let (mut other, got) = lock("select pg_try_advisory_lock($1)").await;
        assert!(got);
        let (mut cache, mut steps) = (Default::default(), Default::default());
        let done =
            inbox::project(&app.store, &mut conn, &app.ratings.calendar, &mut cache, &mut steps, 32).await.unwrap();
        assert_eq!((done.busy, done.ratings), (true, 0));
        assert_eq!(inbox::backlog(&app.store).await.unwrap().0, 3, "the rows are left alone");
        let released: bool = sqlx::query_scalar("select pg_advisory_unlock($1)")
            .bind(inbox::PROJECTION_LOCK)
            .fetch_one(&mut other)
            .await
            .unwrap();
        assert!(released);
    }
    assert_eq!(project_all(&app, &mut conn).await, vec![3]);
    if engine == Engine::Postgres {
        let (_other, got) = lock("select pg_try_advisory_lock($1)").await;
        assert!(got, "the projection released the lock");
    }
}

/// At start the abuse rule warms up from recent ratings: those still in the inbox
/// (acknowledged, not yet projected) count too, once each, also when a projection moved one
/// into `ratings` between the two reads. (Live alerts need no warm-up: their tallies are in
/// the database.)
async fn inbox_ratings_count_when_the_abuse_rule_warms_up(engine: Engine) {
    let (app, target, projected, at) = app_with_one_rating(engine).await;
    let rows = [
        waiting("inbox-plain", at + 1, &target, "device-plain", &[]),
        waiting("inbox-flagged", at + 2, &target, "device-flagged", &["repeat_device"]),
        // The rating already projected, as if its row were read before its projection committed.
        waiting(&projected, at, &target, "device-projected", &[]),
    ];
    let mut conn = app.store.dedicated_connection().await.unwrap();
    inbox::append(&mut conn, at, &rows).await.unwrap();

    let abuse = pingyi::store::ratings::recent_for_abuse(&app.store, at - 1).await.unwrap();
    let devices: Vec<&str> = abuse.iter().map(|(_, device, _, _)| device.as_str()).collect();
    assert_eq!(abuse.len(), 3, "{devices:?}");
    assert!(devices.contains(&"device-plain") && devices.contains(&"device-flagged"), "{devices:?}");
    assert!(!devices.contains(&"device-projected"), "the projected rating counts once, from ratings: {devices:?}");
    assert!(abuse.iter().all(|(code, _, _, _)| *code == target.id));
    assert!(abuse.windows(2).all(|w| w[0].3 <= w[1].3), "oldest first");
}

/// A burst's batch (up to 512 ratings) is committed in one statement but as rows of at most
/// `ROW_RATINGS`, so that projecting it never takes one long transaction: each projection of
/// a 32-rating chunk takes one row.
async fn a_large_batch_is_appended_as_rows_projected_one_at_a_time(engine: Engine) {
    let (app, target, _, _) = app_with_one_rating(engine).await;
    let at = pingyi::store::now_ms();
    let burst: Vec<inbox::Pending> =
        (0..70).map(|i| waiting(&format!("burst-{i:02}"), at, &target, &format!("device-{i}"), &[])).collect();
    let mut conn = app.store.dedicated_connection().await.unwrap();
    inbox::append(&mut conn, at, &burst).await.unwrap();
    let sizes: Vec<i64> =
        sqlx::query_scalar("select ratings from rating_inbox order by seq").fetch_all(app.store.pool()).await.unwrap();
    assert_eq!(sizes, vec![32, 32, 6]);
    assert_eq!(inbox::backlog(&app.store).await.unwrap(), (70, Some(at)));

    assert_eq!(project_all(&app, &mut conn).await, vec![32, 32, 6], "one row a projection");
    let projected: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from ratings where id like 'burst-%'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(projected, 70);
    assert_eq!(inbox::backlog(&app.store).await.unwrap(), (0, None));
}

/// `name::sqlite` and `name::postgres`, each running `test` on its engine.
macro_rules! on_each_engine {
    ($($name:ident => $test:ident;)*) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$test(super::Engine::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
                async fn postgres() {
                    super::$test(super::Engine::Postgres).await;
                }
            }
        )*
    };
}

on_each_engine! {
    a_rating_in_the_inbox_reads_as_pending => a_rating_in_the_inbox_reads_as_pending;
    one_process_projects_at_a_time => one_process_projects_the_inbox_at_a_time;
    a_large_batch_becomes_several_rows => a_large_batch_is_appended_as_rows_projected_one_at_a_time;
    inbox_ratings_count_at_warm_up => inbox_ratings_count_when_the_abuse_rule_warms_up;
    inbox_ratings_end_as_direct_ones => inbox_ratings_end_as_ratings_written_straight_through;
    an_unreadable_inbox_row_is_kept => an_unreadable_inbox_row_is_kept_and_the_rest_projected;
}

/// PostgreSQL would compress a full inbox row (32 ratings, ~10 KB of JSON) with pglz inside the
/// commit the ratings wait for; the rows live only until projected, so they are stored as they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
async fn inbox_rows_are_stored_uncompressed_postgres() {
    let (app, target, _, at) = app_with_one_rating(Engine::Postgres).await;
    let rows: Vec<inbox::Pending> =
        (0..32).map(|i| waiting(&format!("full-{i}"), at + 1, &target, &format!("device-{i}"), &[])).collect();
    let mut conn = app.store.dedicated_connection().await.unwrap();
    inbox::append(&mut conn, at + 1, &rows).await.unwrap();
    let (bytes, compression): (i64, Option<String>) = sqlx::query_as(
        "select cast(octet_length(body) as bigint), cast(pg_column_compression(body) as text) from rating_inbox",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(bytes > 4_000, "long enough that PostgreSQL would compress it by default: {bytes} bytes");
    assert_eq!(compression, None, "stored uncompressed");
    assert_eq!(project_all(&app, &mut conn).await, vec![32], "and read back whole");
}
