//! The REST API, driven as a function (`app(state).oneshot(request)`) over a
//! real SQLite store: campaigns are created, loaded, moved through their
//! states and exported; the do-not-call list is edited; a token guards it all.

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use serde_json::{json, Value};
use switchboard::http::{app, app_with_upload_limit, ApiState};
use switchboard::store::{AttemptResult, Store};
use tower::ServiceExt;

struct Api {
    router: Router,
    store: Store,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field in {}", self.json()))
            .to_string()
    }
}

async fn api_with_token(token: Option<&str>) -> Api {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("api.db").display());
    let store = Store::open(&url).await.expect("open store");
    let router = app(ApiState {
        store: store.clone(),
        token: token.map(str::to_string),
        desk: Default::default(),
    });
    Api {
        router,
        store,
        _dir: dir,
    }
}

async fn api() -> Api {
    api_with_token(None).await
}

impl Api {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn without_body(&self, method: Method, uri: &str) -> Answer {
        self.send(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post_json(&self, uri: &str, body: Value) -> Answer {
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    async fn create(&self, name: &str) -> Answer {
        self.post_json(
            "/api/campaigns",
            json!({
                "name": name,
                "dialplan": "notice",
                "trunk": "main",
                "caller_id": "+15550001111",
                "settings": { "calling_window": "09:00-20:00", "max_attempts": 2 }
            }),
        )
        .await
    }

    async fn upload(&self, campaign: &str, parts: &[(&str, &str)]) -> Answer {
        let (content_type, body) = multipart(parts);
        self.send(
            Request::post(format!("/api/campaigns/{campaign}/leads"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// A multipart/form-data body; a part named "file" is sent as a CSV file.
fn multipart(parts: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "switchboard-test-boundary";
    let mut body = String::new();
    for (name, value) in parts {
        body.push_str(&format!("--{boundary}\r\n"));
        if *name == "file" {
            body.push_str(
                "Content-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\n\
                 Content-Type: text/csv\r\n\r\n",
            );
        } else {
            body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            ));
        }
        body.push_str(value);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

const LIST: &str = concat!(
    "Phone,Name,TZ\n",                          // 1 header
    "(202) 456-1111,Alice,America/New_York\n",  // 2 good
    "555-12,Bob,America/New_York\n",            // 3 invalid number
    ",Carol,America/Chicago\n",                 // 4 missing phone
    "202.456.1111,Dan,America/New_York\n",      // 5 duplicate of line 2
    "+1 212 736 5000,Erin,Mars/Olympus\n",      // 6 bad time zone
    "+1 617 253 1000,Frank,America/New_York\n", // 7 good
);

const MAP: &str = "phone=Phone,name=Name,timezone=TZ";

#[tokio::test]
async fn health_is_open_and_unknown_routes_answer_json() {
    let api = api().await;
    let answer = api.get("/api/health").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "status": "ok" }));
    let answer = api.get("/api/nothing-here").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.error().contains("no such route"));
    let answer = api.without_body(Method::DELETE, "/api/campaigns").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    answer.error();
}

#[tokio::test]
async fn create_answers_201_then_409_and_400_for_bad_settings() {
    let api = api().await;
    let answer = api.create("spring").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json());
    let campaign = answer.json();
    assert_eq!(campaign["name"], "spring");
    assert_eq!(campaign["state"], "draft");
    assert_eq!(campaign["settings"]["calling_window"], "09:00-20:00");
    assert_eq!(campaign["settings"]["max_attempts"], 2);
    // Settings not given take their defaults.
    assert_eq!(campaign["settings"]["ring_timeout_secs"], 25);

    let answer = api.create("spring").await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(
        answer.error().contains("already exists"),
        "{}",
        answer.error()
    );

    let answer = api
        .post_json(
            "/api/campaigns",
            json!({
                "name": "night", "dialplan": "notice", "trunk": "main", "caller_id": "+15550001111",
                "settings": { "calling_window": "22:00-23:00" }
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.error().contains("calling_window") && answer.error().contains("does not overlap"),
        "{}",
        answer.error()
    );

    let answer = api
        .post_json(
            "/api/campaigns",
            json!({
                "name": "typo", "dialplan": "notice", "trunk": "main", "caller_id": "+15550001111",
                "settings": { "max_atempts": 4 }
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("max_atempts"), "{}", answer.error());

    let answer = api
        .send(
            Request::post("/api/campaigns")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    answer.error();

    let answer = api
        .post_json(
            "/api/campaigns",
            json!({ "name": " ", "dialplan": "notice", "trunk": "main", "caller_id": "+1" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("name"), "{}", answer.error());

    // A dialplan is needed unless people go to agents.
    let answer = api
        .post_json(
            "/api/campaigns",
            json!({ "name": "noplan", "trunk": "main", "caller_id": "+15550001111" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("dialplan"), "{}", answer.error());
    let answer = api
        .post_json(
            "/api/campaigns",
            json!({
                "name": "agents", "trunk": "main", "caller_id": "+15550001111",
                "settings": { "mode": "progressive", "queue": "sales" },
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json());
}

#[tokio::test]
async fn list_and_show_give_campaigns_with_live_status() {
    let api = api().await;
    api.create("spring").await;
    api.create("autumn").await;
    let answer = api.get("/api/campaigns").await;
    assert_eq!(answer.status, StatusCode::OK);
    let names: Vec<String> = answer
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|campaign| campaign["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"spring".to_string()) && names.contains(&"autumn".to_string()));

    let answer = api.get("/api/campaigns/spring").await;
    assert_eq!(answer.status, StatusCode::OK);
    let shown = answer.json();
    assert_eq!(shown["name"], "spring");
    assert_eq!(shown["settings"]["max_attempts"], 2);
    assert_eq!(shown["status"]["leads_total"], 0);
    assert_eq!(shown["status"]["attempts_in_progress"], 0);
    assert_eq!(shown["status"]["rates"]["answer_rate"], Value::Null);

    let answer = api.get("/api/campaigns/winter").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.error().contains("winter"));
}

#[tokio::test]
async fn upload_reports_bad_rows_with_their_lines() {
    let api = api().await;
    api.create("spring").await;
    let answer = api.upload("spring", &[("map", MAP), ("file", LIST)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json());
    let report = answer.json();
    assert_eq!(report["rows"], 6);
    assert_eq!(report["loaded"], 2);
    assert_eq!(report["problem_count"], 4);
    assert_eq!(report["problems_by_kind"]["invalid_number"], 1);
    assert_eq!(report["problems_by_kind"]["missing_phone"], 1);
    assert_eq!(report["problems_by_kind"]["duplicate"], 1);
    assert_eq!(report["problems_by_kind"]["bad_timezone"], 1);
    let problems: Vec<(u64, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            (3, "invalid_number".to_string()),
            (4, "missing_phone".to_string()),
            (5, "duplicate".to_string()),
            (6, "bad_timezone".to_string()),
        ]
    );
    assert!(report["problems"][2]["detail"]
        .as_str()
        .unwrap()
        .contains("first on line 2"));
    assert_eq!(report["already_in_campaign"], json!([]));

    // Loading the same list again adds nothing and names the numbers it skipped.
    let again = api
        .upload("spring", &[("map", MAP), ("file", LIST)])
        .await
        .json();
    assert_eq!(again["loaded"], 0);
    assert_eq!(
        again["already_in_campaign"],
        json!([
            { "line": 2, "number": "+12024561111" },
            { "line": 7, "number": "+16172531000" }
        ])
    );

    let shown = api.get("/api/campaigns/spring").await.json();
    assert_eq!(shown["status"]["leads"]["pending"], 2);
    assert_eq!(shown["status"]["leads_total"], 2);
}

#[tokio::test]
async fn uploads_that_cannot_load_say_why() {
    let api = api().await;
    api.create("spring").await;

    // No mapping: the default phone column "phone" is not in this header.
    let answer = api
        .upload("spring", &[("file", "Mobile,Name\n+1 617 253 1000,Ann\n")])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.error().contains("'phone'") && answer.error().contains("'Mobile'"),
        "{}",
        answer.error()
    );

    let answer = api.upload("spring", &[("map", "phone=Phone")]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("'file'"), "{}", answer.error());

    let answer = api
        .upload("spring", &[("map", "telephone=Phone"), ("file", LIST)])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("telephone"), "{}", answer.error());

    let answer = api.upload("winter", &[("map", MAP), ("file", LIST)]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    let answer = api
        .send(
            Request::post("/api/campaigns/spring/leads")
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(LIST))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("multipart"), "{}", answer.error());
}

#[tokio::test]
async fn uploads_over_the_limit_get_413() {
    let api = api().await;
    api.create("spring").await;
    let small = app_with_upload_limit(
        ApiState {
            store: api.store.clone(),
            token: None,
            desk: Default::default(),
        },
        1024,
    );
    let big_list = format!(
        "Phone\n{}",
        "+1 617 253 1000\n".repeat(200) // about 3 KB
    );
    // With Content-Length: refused before reading.
    let (content_type, body) = multipart(&[("file", &big_list)]);
    let response = small
        .clone()
        .oneshot(
            Request::post("/api/campaigns/spring/leads")
                .header(header::CONTENT_TYPE, &content_type)
                .header(header::CONTENT_LENGTH, body.len())
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let error: Value = serde_json::from_slice(&text).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("1024 bytes"),
        "{error}"
    );
    // Without a Content-Length: cut off when the limit is passed.
    let response = small
        .oneshot(
            Request::post("/api/campaigns/spring/leads")
                .header(header::CONTENT_TYPE, &content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let shown = api.get("/api/campaigns/spring").await.json();
    assert_eq!(shown["status"]["leads_total"], 0);
}

#[tokio::test]
async fn state_changes_follow_the_campaign_life_cycle() {
    let api = api().await;
    api.create("spring").await;
    let step = |action: &'static str| {
        let api = &api;
        async move {
            api.without_body(Method::POST, &format!("/api/campaigns/spring/{action}"))
                .await
        }
    };
    let answer = step("pause").await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(answer.error().contains("it is draft"), "{}", answer.error());
    let answer = step("start").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({ "name": "spring", "state": "running" })
    );
    assert_eq!(step("start").await.status, StatusCode::CONFLICT);
    assert_eq!(step("pause").await.json()["state"], "paused");
    assert_eq!(step("pause").await.status, StatusCode::CONFLICT);
    assert_eq!(step("resume").await.json()["state"], "running");
    assert_eq!(step("stop").await.json()["state"], "finished");
    let answer = step("resume").await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(
        answer.error().contains("finished") && answer.error().contains("paused"),
        "{}",
        answer.error()
    );
    let shown = api.get("/api/campaigns/spring").await.json();
    assert_eq!(shown["state"], "finished");

    let answer = api
        .without_body(Method::POST, "/api/campaigns/winter/start")
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = api
        .without_body(Method::GET, "/api/campaigns/spring/start")
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn export_is_csv_of_every_attempt_and_status_has_rates() {
    let api = api().await;
    api.create("spring").await;
    api.upload("spring", &[("map", MAP), ("file", LIST)]).await;

    // One answered attempt, recorded the way the dialer records it.
    let campaign = api.store.campaign("spring").await.unwrap().unwrap();
    let now = Utc::now();
    let leads = api
        .store
        .lease_due_leads(
            &campaign.id,
            "test",
            1,
            now,
            now + chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    let lead = &leads[0];
    api.store
        .start_attempt("attempt-1", lead, "main", "test", now)
        .await
        .unwrap();
    api.store
        .finish_attempt(
            "attempt-1",
            lead.id,
            &AttemptResult {
                call_id: None,
                ringing_at: Some(now),
                answered_at: Some(now),
                ended_at: now,
                sip_status: Some(200),
                outcome: "human_answered".into(),
                amd_result: None,
                amd_confidence: None,
                amd_reasons: None,
                path: None,
                digits: None,
                lead_state: "done".into(),
                next_attempt_at: None,
            },
        )
        .await
        .unwrap();

    let answer = api.get("/api/campaigns/spring/export").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(answer.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("spring-attempts.csv"));
    let text = String::from_utf8(answer.body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("lead_line,number,name,attempt_id,"),
        "{text}"
    );
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with(&format!("{},{},", lead.source_line, lead.number)),
        "{text}"
    );
    assert!(lines[1].contains("human_answered"), "{text}");

    let status = &api.get("/api/campaigns/spring").await.json()["status"];
    assert_eq!(status["attempts_finished"], 1);
    assert_eq!(status["attempts"]["human_answered"], 1);
    assert_eq!(status["rates"]["answer_rate"], 1.0);
    assert_eq!(status["rates"]["leads_completed"], 0.5);

    assert_eq!(
        api.get("/api/campaigns/winter/export").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn do_not_call_numbers_are_added_checked_and_removed() {
    let api = api().await;
    let answer = api
        .without_body(Method::PUT, "/api/dnc/(202)%20456-1111")
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json());
    assert_eq!(
        answer.json(),
        json!({ "number": "+12024561111", "listed": true })
    );
    let answer = api.without_body(Method::PUT, "/api/dnc/+12024561111").await;
    assert_eq!(answer.status, StatusCode::OK);

    let answer = api.get("/api/dnc/202.456.1111").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["listed"], true);

    // A listed number is refused by the next list upload (lines 2 and 5).
    api.create("spring").await;
    let report = api
        .upload("spring", &[("map", MAP), ("file", LIST)])
        .await
        .json();
    assert_eq!(report["problems_by_kind"]["do_not_call"], 2);

    let answer = api
        .without_body(Method::DELETE, "/api/dnc/2024561111")
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["listed"], false);
    let answer = api
        .without_body(Method::DELETE, "/api/dnc/2024561111")
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/api/dnc/2024561111").await.json()["listed"], false);

    // Numbers without a country code take the region given.
    let answer = api
        .without_body(Method::PUT, "/api/dnc/912345678?region=ES")
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.json()["number"], "+34912345678");

    let answer = api.get("/api/dnc/555-12").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("555-12"), "{}", answer.error());
    let answer = api.get("/api/dnc/2024561111?region=XX").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.error().contains("XX"), "{}", answer.error());
}

#[tokio::test]
async fn a_token_guards_every_route_but_health() {
    let api = api_with_token(Some("s3cret-token")).await;
    assert_eq!(api.get("/api/health").await.status, StatusCode::OK);

    let answer = api.get("/api/campaigns").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer");
    answer.error();

    let with = |value: &str| {
        Request::get("/api/campaigns")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .unwrap()
    };
    for wrong in [
        "Bearer s3cret-tokeN",
        "Bearer s3cret",
        "Bearer s3cret-token-and-more",
        "Basic s3cret-token",
        "s3cret-token",
    ] {
        let answer = api.send(with(wrong)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong}");
    }
    let answer = api.send(with("Bearer s3cret-token")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!([]));

    // Writes are guarded too.
    let answer = api.create("spring").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let answer = api.without_body(Method::PUT, "/api/dnc/2024561111").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

/// A page on another site must not be able to drive the API through the
/// operator's browser (a form POST needs no CORS preflight).
#[tokio::test]
async fn cross_site_browser_requests_are_refused() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let store =
        switchboard::store::Store::open(&format!("sqlite://{}", dir.path().join("a.db").display()))
            .await
            .unwrap();
    let app = switchboard::http::app(switchboard::http::ApiState {
        store,
        token: None,
        desk: Default::default(),
    });
    let request = |origin: Option<&str>| {
        let mut builder = axum::http::Request::builder()
            .method("GET")
            .uri("/api/campaigns")
            .header("Host", "127.0.0.1:8080");
        if let Some(origin) = origin {
            builder = builder.header("Origin", origin);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    };
    let evil = app
        .clone()
        .oneshot(request(Some("https://evil.example")))
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let same = app
        .clone()
        .oneshot(request(Some("http://127.0.0.1:8080")))
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
    let tool = app.oneshot(request(None)).await.unwrap();
    assert_eq!(tool.status(), 200);
}
