//! The shared page chrome: layouts, the shell every console page needs, toasts and the error
//! page. Feature templates live beside their handlers.

use std::fmt;

use askama::Template;

use crate::assets::{ASSET_URLS, AssetUrls};
use crate::db::models::user::{StaffRole, User};

/// One breadcrumb; the last one is the current page and has no link.
pub struct Crumb {
    pub label: String,
    pub href: Option<String>,
}

impl Crumb {
    pub fn link(label: &str, href: &str) -> Self {
        Self {
            label: label.into(),
            href: Some(href.into()),
        }
    }
    pub fn here(label: &str) -> Self {
        Self {
            label: label.into(),
            href: None,
        }
    }
}

/// What the layout needs on every console page.
pub struct Shell {
    pub title: String,
    pub csrf_token: String,
    pub user_email: Option<String>,
    pub user_role: Option<StaffRole>,
    pub breadcrumbs: Vec<Crumb>,
    pub flash: Option<String>,
    pub assets: &'static AssetUrls,
}

impl Shell {
    pub fn new(title: &str, csrf_token: String, user: Option<&User>) -> Self {
        Self {
            title: title.into(),
            csrf_token,
            user_email: user.map(|u| u.email.clone()),
            user_role: user.map(|u| u.role),
            breadcrumbs: Vec::new(),
            flash: None,
            assets: &ASSET_URLS,
        }
    }

    pub fn crumbs(mut self, crumbs: Vec<Crumb>) -> Self {
        self.breadcrumbs = crumbs;
        self
    }

    pub fn flash(mut self, flash: Option<String>) -> Self {
        self.flash = flash;
        self
    }

    /// `hx-headers` for `<body>`: htmx sends the CSRF token with every request.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf_token }).to_string()
    }

    /// A Viewer reads everything and changes nothing: every page says so once.
    pub fn is_viewer(&self) -> bool {
        self.user_role == Some(StaffRole::Viewer)
    }
}

/// A rendered template placed inside another without being escaped a second time.
pub struct Fragment<T>(pub T);

impl<T: Template> fmt::Display for Fragment<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.render_into(f).map_err(|_| fmt::Error)
    }
}

// Safe: the inner template escaped its own values when it rendered.
impl<T: Template> askama::filters::HtmlSafe for Fragment<T> {}

#[derive(Template)]
#[template(path = "layout/console.html")]
pub struct ConsolePage<T: Template> {
    pub shell: Shell,
    pub assets: &'static AssetUrls,
    pub body: Fragment<T>,
}

impl<T: Template> ConsolePage<T> {
    pub fn new(shell: Shell, body: T) -> Self {
        Self {
            assets: shell.assets,
            shell,
            body: Fragment(body),
        }
    }
}

/// A page outside the console chrome (sign-in, first-run setup, errors).
#[derive(Template)]
#[template(path = "layout/public.html")]
pub struct PublicPage<T: Template> {
    pub title: String,
    pub csrf_token: String,
    pub assets: &'static AssetUrls,
    pub body: Fragment<T>,
}

impl<T: Template> PublicPage<T> {
    pub fn new(title: &str, csrf_token: String, body: T) -> Self {
        Self {
            title: title.into(),
            csrf_token,
            assets: &ASSET_URLS,
            body: Fragment(body),
        }
    }
}

#[derive(Template)]
#[template(path = "partials/error_message.html")]
pub struct ErrorMessage {
    pub title: String,
    pub message: String,
}

pub type ErrorPage = PublicPage<ErrorMessage>;

pub fn error_page(title: &str, message: &str) -> ErrorPage {
    PublicPage::new(
        title,
        String::new(),
        ErrorMessage {
            title: title.into(),
            message: message.into(),
        },
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

impl ToastKind {
    pub fn class(self) -> &'static str {
        match self {
            ToastKind::Success => "toast-success",
            ToastKind::Error => "toast-error",
        }
    }
}

/// A short notice; with `oob` it rides along an htmx response into `#toasts`.
#[derive(Template)]
#[template(path = "partials/toast.html")]
pub struct Toast {
    pub kind: ToastKind,
    pub message: String,
    pub oob: bool,
}

impl Toast {
    pub fn success_oob(message: &str) -> Self {
        Self {
            kind: ToastKind::Success,
            message: message.into(),
            oob: true,
        }
    }
}

/// "3 minutes ago", "in 2 days": for people; the absolute time goes in a tooltip.
pub fn relative_time(
    t: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let delta = t - now;
    let future = delta > chrono::Duration::zero();
    let secs = delta.num_seconds().abs();
    let (n, unit) = match secs {
        0..=59 => {
            return if future {
                "in under a minute".into()
            } else {
                "just now".into()
            };
        }
        60..=3_599 => (secs / 60, "minute"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        2_592_000..=31_535_999 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

/// "06:09 UTC" on `now`'s day, "7 Dec 06:09 UTC" on another.
pub fn clock_time(t: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    if t.date_naive() == now.date_naive() {
        t.format("%H:%M UTC").to_string()
    } else {
        t.format("%-d %b %H:%M UTC").to_string()
    }
}

/// `2026-11-22 20:15 UTC`
pub fn absolute_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative_time(now - Duration::seconds(5), now), "just now");
        assert_eq!(
            relative_time(now - Duration::minutes(1), now),
            "1 minute ago"
        );
        assert_eq!(relative_time(now - Duration::hours(2), now), "2 hours ago");
        assert_eq!(relative_time(now + Duration::days(3), now), "in 3 days");
        assert_eq!(relative_time(now + Duration::days(400), now), "in 1 year");
    }
}
