//! Fixtures shared by the integration tests, in one place: rows written straight to the
//! database (the catalog, roles, credentials), the console's create form, and an OAuth
//! client with the requests integrations make.

use base64::Engine;
use diesel::prelude::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use m2m_console::db::ids::{ApiId, CredentialId, OrgId, RoleId};
use m2m_console::db::models::api::Api;
use m2m_console::db::models::api_role::ApiRole;
use m2m_console::db::models::credential::{
    AccessLevel, Credential, CredentialSettings, NewCredential,
};
use m2m_console::db::models::user::StaffRole;
use serde_json::Value;

use crate::helpers::{Browser, Page, TestApp};

mod invitations;
mod mail;
mod seams;
mod sessions;
mod two_factor;
pub use invitations::*;
pub use mail::*;
pub use seams::*;
pub use sessions::*;
pub use two_factor::*;

pub async fn insert_api(app: &TestApp, org: OrgId, scope: &str) -> Api {
    let now = app.clock.now();
    let api = Api {
        id: ApiId::new_random(),
        org_id: org,
        scope: scope.into(),
        name: format!("{scope} name"),
        description: String::new(),
        created_at: now,
        updated_at: now,
    };
    let mut conn = app.conn().await;
    api.insert(&mut conn).await.unwrap();
    // Read back: the database keeps microseconds, so compare what it holds.
    Api::find_in_org(&mut conn, org, api.id).await.unwrap()
}

pub async fn insert_role(app: &TestApp, org: OrgId, name: &str, apis: &[ApiId]) -> ApiRole {
    let now = app.clock.now();
    let role = ApiRole {
        id: RoleId::new_random(),
        org_id: org,
        name: name.into(),
        description: String::new(),
        created_at: now,
        updated_at: now,
    };
    let mut conn = app.conn().await;
    role.insert(&mut conn).await.unwrap();
    ApiRole::set_apis(&mut conn, role.id, apis).await.unwrap();
    role
}

pub async fn insert_credential(
    app: &TestApp,
    org: OrgId,
    role: RoleId,
    name: &str,
    access_level: AccessLevel,
    selected: &[ApiId],
) -> Credential {
    let now = app.clock.now();
    let client_id = format!("m2m_ci_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = app.conn().await;
    let credential = Credential::insert(
        &mut conn,
        &NewCredential {
            id: CredentialId::new_random(),
            org_id: org,
            client_id: &client_id,
            secret_hash: &[7u8; 32],
            secret_last_four: None,
            settings: CredentialSettings {
                name,
                description: "",
                owner_email: "ops@acme.test",
                role_id: role,
                access_level,
                allowed_ips: &[],
                expires_at: None,
                management_scopes: &[],
                token_lifetime_seconds: 3600,
                updated_at: now,
            },
            created_by: None,
            created_by_email: "fixture@acme.test",
            created_at: now,
            creation_key: None,
        },
    )
    .await
    .unwrap();
    Credential::set_apis(&mut conn, credential.id, selected)
        .await
        .unwrap();
    credential
}

pub fn rows(page: &Page, testid: &str) -> usize {
    page.body
        .matches(&format!("data-testid=\"{testid}\""))
        .count()
}

pub struct Catalog {
    pub role: RoleId,
    pub read: ApiId,
    #[allow(dead_code)]
    pub write: ApiId,
    /// An API that exists in the catalog but not in `role`.
    pub other: ApiId,
    pub other_role: RoleId,
}

/// A catalog of three APIs and two roles in `org`, written directly (the catalog pages have
/// their own tests).
pub async fn seed_catalog(app: &TestApp, org: OrgId) -> Catalog {
    let mut conn = app.conn().await;
    let now = app.clock.now();
    let api = |scope: &str| Api {
        id: ApiId::new_random(),
        org_id: org,
        scope: scope.into(),
        name: format!("API {scope}"),
        description: String::new(),
        created_at: now,
        updated_at: now,
    };
    let (read, write, other) = (
        api("orders:read"),
        api("orders:write"),
        api("invoices:read"),
    );
    for a in [&read, &write, &other] {
        a.insert(&mut conn).await.unwrap();
    }
    let role = |name: &str| ApiRole {
        id: RoleId::new_random(),
        org_id: org,
        name: name.into(),
        description: String::new(),
        created_at: now,
        updated_at: now,
    };
    let (orders, billing) = (role("Orders"), role("Billing"));
    orders.insert(&mut conn).await.unwrap();
    billing.insert(&mut conn).await.unwrap();
    ApiRole::set_apis(&mut conn, orders.id, &[read.id, write.id])
        .await
        .unwrap();
    ApiRole::set_apis(&mut conn, billing.id, &[other.id])
        .await
        .unwrap();
    Catalog {
        role: orders.id,
        read: read.id,
        write: write.id,
        other: other.id,
        other_role: billing.id,
    }
}

pub fn valid_form(catalog: &Catalog) -> Vec<(&'static str, String)> {
    vec![
        ("name", "Warehouse sync".into()),
        ("description", "Nightly stock export".into()),
        ("owner_email", "ops@acme.test".into()),
        ("role_id", catalog.role.to_string()),
        ("access_level", "full".into()),
        ("allowed_ips", "".into()),
        ("expires_at", "".into()),
    ]
}

pub fn with(
    mut form: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    form.retain(|(k, _)| *k != key);
    form.push((key, value.to_string()));
    form
}

pub fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The text inside the first element carrying `data-testid="{id}"`.
pub fn testid_text(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("data-testid=\"{id}\""))?;
    let open_end = body[start..].find('>')? + start + 1;
    let close = body[open_end..].find('<')? + open_end;
    Some(body[open_end..close].to_string())
}

pub async fn create_via_htmx(browser: &mut Browser, form: &[(&'static str, String)]) -> Page {
    browser
        .hx_post_from(
            m2m_console::paths::M2M,
            m2m_console::paths::M2M,
            &pairs(form),
        )
        .await
}

/// Creates a credential through the console and returns (id, client_id, secret).
pub async fn create_credential(
    app: &TestApp,
    browser: &mut Browser,
    form: &[(&'static str, String)],
) -> (CredentialId, String, String) {
    let page = create_via_htmx(browser, form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let client_id = testid_text(&page.body, "client-id").unwrap();
    let secret = testid_text(&page.body, "client-secret").unwrap();
    let mut conn = app.conn().await;
    let id: CredentialId = m2m_console::db::schema::credentials::table
        .filter(m2m_console::db::schema::credentials::client_id.eq(&client_id))
        .select(m2m_console::db::schema::credentials::id)
        .first(&mut *conn)
        .await
        .unwrap();
    (id, client_id, secret)
}

pub struct Client {
    pub id: m2m_console::db::ids::CredentialId,
    pub client_id: String,
    pub secret: String,
}

pub struct Setup {
    pub app: TestApp,
    pub admin: Browser,
    pub admin_email: String,
    pub org: m2m_console::db::ids::OrgId,
    pub catalog: Catalog,
    pub client: Client,
}

/// An app with one Full credential of role Orders (orders:read orders:write).
pub async fn setup_with(
    form_tweak: impl FnOnce(Vec<(&'static str, String)>) -> Vec<(&'static str, String)>,
) -> Setup {
    let app = TestApp::spawn().await;
    setup_on(app, form_tweak).await
}

pub async fn setup_on(
    app: TestApp,
    form_tweak: impl FnOnce(Vec<(&'static str, String)>) -> Vec<(&'static str, String)>,
) -> Setup {
    let (admin_user, mut admin) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin_user.org_id).await;
    let (id, client_id, secret) =
        create_credential(&app, &mut admin, &form_tweak(valid_form(&catalog))).await;
    Setup {
        app,
        admin,
        admin_email: admin_user.email,
        org: admin_user.org_id,
        catalog,
        client: Client {
            id,
            client_id,
            secret,
        },
    }
}

pub async fn setup() -> Setup {
    setup_with(|f| f).await
}

pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn answer(res: reqwest::Response) -> Answer {
    Answer {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        text: res.text().await.unwrap(),
    }
}

/// A form POST with optional extra headers.
pub async fn post(app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = reqwest::Client::new()
        .post(app.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer(req.send().await.unwrap()).await
}

pub async fn token(app: &TestApp, client: &Client, extra: &str) -> Answer {
    let auth = basic(&client.client_id, &client.secret);
    post(
        app,
        "/oauth/token",
        &format!("grant_type=client_credentials{extra}"),
        &[("Authorization", &auth)],
    )
    .await
}

pub async fn access_token(app: &TestApp, client: &Client) -> String {
    let res = token(app, client, "").await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.json()["access_token"].as_str().unwrap().to_string()
}

pub async fn whoami(app: &TestApp, token: &str) -> Answer {
    answer(
        reqwest::Client::new()
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn introspect(app: &TestApp, caller: &Client, token: &str) -> Answer {
    let auth = basic(&caller.client_id, &caller.secret);
    post(
        app,
        "/oauth/introspect",
        &format!("token={token}"),
        &[("Authorization", &auth)],
    )
    .await
}

/// Rotates the setup credential's secret from the console (the old one stops at once); the
/// client with the new secret.
pub async fn rotate(s: &mut Setup) -> Client {
    rotate_with_overlap(s, "now").await
}

/// Rotates with the overlap chosen in the dialog (`now`, `1h`, `24h`, `7d`).
pub async fn rotate_with_overlap(s: &mut Setup, overlap: &str) -> Client {
    let page = s
        .admin
        .hx_post(
            &format!("{}/{}/rotate", m2m_console::paths::M2M, s.client.id),
            &[("overlap", overlap)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    Client {
        id: s.client.id,
        client_id: s.client.client_id.clone(),
        secret: testid_text(&page.body, "client-secret").unwrap(),
    }
}

/// A credential with management access, created by a Super Admin in the console (role
/// Orders, Full), with `scopes` ticked.
pub async fn management_client(
    app: &TestApp,
    super_admin: &mut Browser,
    catalog: &Catalog,
    name: &str,
    scopes: &[&str],
) -> Client {
    let mut form = with(valid_form(catalog), "name", name);
    for scope in scopes {
        form.push(("management_scopes", scope.to_string()));
    }
    let (id, client_id, secret) = create_credential(app, super_admin, &form).await;
    Client {
        id,
        client_id,
        secret,
    }
}

/// A management API call with a bearer token, a JSON body and extra headers.
pub async fn api_call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer(req.send().await.unwrap()).await
}

/// A new credential's JSON for `POST /api/v1/credentials` (role Orders, Full).
pub fn new_credential_json(catalog: &Catalog, name: &str) -> Value {
    serde_json::json!({
        "name": name,
        "description": "Made by the pipeline",
        "owner_email": "ops@acme.test",
        "role_id": catalog.role.to_string(),
        "access_level": "full",
    })
}

/// Settings for webhooks to the receiver on 127.0.0.1 over plain http, polled every 50 ms.
pub fn local_webhooks(s: &mut m2m_console::config::Settings) {
    s.webhooks.allow_private = true;
    s.webhooks.allow_insecure = true;
    s.webhooks.poll = std::time::Duration::from_millis(50);
}

/// Registers an endpoint for `events` through the console as `browser` (a Super Admin): its
/// id and its signing secret, as the one-time page shows it.
pub async fn register_webhook(
    app: &TestApp,
    browser: &mut Browser,
    url: &str,
    events: &[&str],
) -> (m2m_console::db::ids::WebhookEndpointId, String) {
    use m2m_console::db::schema::webhook_endpoints;
    let mut form = vec![("url", url), ("enabled", "on")];
    form.extend(events.iter().map(|e| ("events", *e)));
    let page = browser.hx_post(m2m_console::paths::WEBHOOKS, &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = testid_text(&page.body, "webhook-secret").unwrap();
    let id = webhook_endpoints::table
        .filter(webhook_endpoints::url.eq(url))
        .order(webhook_endpoints::created_at.desc())
        .select(webhook_endpoints::id)
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    (id, secret)
}

/// Every webhook event there is.
pub fn all_webhook_events() -> Vec<&'static str> {
    m2m_console::db::models::webhook_endpoint::WebhookEvent::ALL
        .iter()
        .map(|e| e.as_str())
        .collect()
}

/// `(status, attempts, last status code, last error)` of each delivery to `endpoint`, oldest
/// first.
pub async fn deliveries(
    app: &TestApp,
    endpoint: m2m_console::db::ids::WebhookEndpointId,
) -> Vec<(String, i32, Option<i32>, Option<String>)> {
    use m2m_console::db::schema::webhook_deliveries as d;
    d::table
        .filter(d::endpoint_id.eq(endpoint))
        .order((d::created_at.asc(), d::id.asc()))
        .select((d::status, d::attempts, d::last_status_code, d::last_error))
        .load(&mut *app.conn().await)
        .await
        .unwrap()
}

/// What a caller presented, as the lookup statements take it: a secret's digest (or any
/// bytes, to match nothing), from `ip`, at `now`, with the throttle and introspection window
/// of a fresh caller.
pub fn presented<'a>(
    client_id: &'a str,
    secret_hash: &'a [u8],
    ip: Option<&'a str>,
    now: chrono::DateTime<chrono::Utc>,
) -> m2m_console::db::models::issuance::Presented<'a> {
    m2m_console::db::models::issuance::Presented {
        client_id,
        secret_hash,
        key_id: None,
        ip,
        now,
        throttle: m2m_console::oauth::throttle::check(None, now),
        calls_network: m2m_console::db::models::limit_window::any_network(),
        calls_since: now,
    }
}

/// How many statements this connection has prepared whose text starts with `start` (diesel
/// prepares each statement with a static `QueryId` once per connection).
pub async fn prepared_statements(conn: &mut diesel_async::AsyncPgConnection, start: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE starts_with(statement, $1)",
        )
        .bind::<diesel::sql_types::Text, _>(start),
        conn,
    )
    .await
    .unwrap();
    count.n
}
