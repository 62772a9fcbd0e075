//! The management API: every operation, idempotent retries that never reveal a secret
//! twice, ETag/If-Match (`operations`); rate limits, problem documents, the OpenAPI
//! document and webhooks of API changes (`edges`).

mod edges;
mod operations;

use m2m_console::db::models::user::StaffRole;
use serde_json::Value;

use crate::fixtures::*;
use crate::helpers::TestApp;

pub const ALL: [&str; 5] = [
    "m2m.credentials:read",
    "m2m.credentials:write",
    "m2m.credentials:rotate",
    "m2m.tokens:revoke",
    "m2m.audit:read",
];

pub struct Api {
    pub s: Setup,
    pub manager: Client,
    pub token: String,
}

impl Api {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        api_call(&self.s.app, method, path, &self.token, body, &[]).await
    }
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        api_call(&self.s.app, method, path, &self.token, body, headers).await
    }
}

pub async fn api_on(app: TestApp) -> Api {
    let s = setup_on(app, |f| f).await;
    let (_, mut super_admin) = s.app.login_as(StaffRole::SuperAdmin).await;
    let manager = management_client(&s.app, &mut super_admin, &s.catalog, "Pipeline", &ALL).await;
    let token = access_token(&s.app, &manager).await;
    Api { s, manager, token }
}

pub async fn api() -> Api {
    api_on(TestApp::spawn().await).await
}

pub fn credentials_count(list: &Answer) -> usize {
    list.json()["items"].as_array().map_or(0, Vec::len)
}
