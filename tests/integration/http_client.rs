//! The harness's HTTP client for console pages: a cookie-keeping "browser" that remembers
//! the page's CSRF token, and the pages it gets back.

use std::sync::Arc;

use reqwest::header::HeaderMap;

/// A cookie-keeping client that also remembers the page's CSRF token.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    pub csrf: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
    /// A sign-in answer that signed someone in (not the code step).
    pub fn signed_in(&self) -> bool {
        self.status == 303 && self.location() != Some("/login/code")
    }

    /// A sign-in answer that went on to the code step (a right password, two-factor on).
    pub fn to_code_step(&self) -> bool {
        self.status == 303 && self.location() == Some("/login/code")
    }

    /// A sign-in refused on the form itself: a wrong password, an unknown email or a
    /// disabled account.
    pub fn refused_on_the_form(&self) -> bool {
        self.status == 401 && self.body.contains("data-testid=\"login-error\"")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The token in `<meta name="csrf-token" content="…">`.
pub fn csrf_in(html: &str) -> Option<String> {
    let start =
        html.find("name=\"csrf-token\" content=\"")? + "name=\"csrf-token\" content=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string()).filter(|t| !t.is_empty())
}

impl Browser {
    /// The `Cookie` header this browser would send (the session cookie), if any.
    pub fn cookie_header(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = reqwest::Url::parse(&self.base).unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn page(&mut self, res: reqwest::Response) -> Page {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap();
        if let Some(token) = csrf_in(&body) {
            self.csrf = Some(token);
        }
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        self.page(res).await
    }

    /// A GET as htmx sends it.
    pub async fn hx_get(&mut self, path: &str) -> Page {
        let res = self
            .http
            .get(self.url(path))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        self.page(res).await
    }

    /// The CSRF token of the current session, fetching a page to learn it if needed.
    pub async fn csrf(&mut self) -> String {
        if self.csrf.is_none() {
            self.get("/login").await;
        }
        self.csrf.clone().unwrap_or_default()
    }

    /// A plain form POST with the session's CSRF token in the `csrf_token` field.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all, &[]).await
    }

    /// A POST as htmx sends it: CSRF token in the `X-CSRF-Token` header.
    pub async fn hx_post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        self.post_raw(
            path,
            fields,
            &[("HX-Request", "true"), ("X-CSRF-Token", &token)],
        )
        .await
    }

    /// A POST as htmx sends it from the page at `page` (it names that page in `HX-Current-URL`).
    pub async fn hx_post_from(&mut self, page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let current = self.url(page);
        self.post_raw(
            path,
            fields,
            &[
                ("HX-Request", "true"),
                ("X-CSRF-Token", &token),
                ("HX-Current-URL", &current),
            ],
        )
        .await
    }

    /// A POST exactly as given: no token added.
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut req = self
            .http
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        self.page(res).await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        let res = self
            .post_form("/login", &[("email", email), ("password", password)])
            .await;
        if res.status == 303 {
            // Sign-in rotates the CSRF token: learn the new one.
            self.csrf = None;
            self.get("/settings").await;
        }
        res
    }
}
