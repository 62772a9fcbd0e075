//! A user agent as a person reads it: "Chrome 131 on macOS", "curl 8.5". The full string
//! stays one click away in the log; this only has to tell common clients apart at a glance.

/// Characters kept of a user agent this module does not recognise.
const FALLBACK_CHARS: usize = 40;

/// Command-line tools and HTTP libraries that name themselves first (`curl/8.5.0`), by the
/// product token in lower case and the name to show.
const TOOLS: &[(&str, &str)] = &[
    ("curl", "curl"),
    ("wget", "Wget"),
    ("httpie", "HTTPie"),
    ("python-requests", "python-requests"),
    ("python-httpx", "python-httpx"),
    ("go-http-client", "Go-http-client"),
    ("postmanruntime", "Postman"),
    ("okhttp", "OkHttp"),
    ("axios", "axios"),
];

/// Browser product tokens, most specific first: Edge and Opera also say "Chrome/", and
/// Chrome also says "Safari/".
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edge/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Vivaldi/", "Vivaldi"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("HeadlessChrome/", "Headless Chrome"),
    ("Chromium/", "Chromium"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
];

/// Operating systems by a telltale substring, most specific first: Android agents say
/// "Linux" and iPhone agents say "like Mac OS X".
const SYSTEMS: &[(&str, &str)] = &[
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPod", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
    ("X11", "Linux"),
];

/// `user_agent` shortened to browser and OS, a tool and its version, or else its first 40
/// characters and "…".
pub fn shorten(user_agent: &str) -> String {
    let ua = user_agent.trim();
    if let Some(tool) = tool(ua) {
        return tool;
    }
    if let Some(browser) = browser(ua) {
        return match SYSTEMS.iter().find(|(telltale, _)| ua.contains(telltale)) {
            Some((_, os)) => format!("{browser} on {os}"),
            None => browser,
        };
    }
    if ua.chars().count() > FALLBACK_CHARS {
        format!("{}…", ua.chars().take(FALLBACK_CHARS).collect::<String>())
    } else {
        ua.to_string()
    }
}

/// The browser (or tool) and the operating system `user_agent` names, each `None` when not
/// recognised: the sessions page shows them in columns of their own.
pub fn browser_and_os(user_agent: &str) -> (Option<String>, Option<&'static str>) {
    let ua = user_agent.trim();
    if let Some(tool) = tool(ua) {
        return (Some(tool), None);
    }
    let os = SYSTEMS
        .iter()
        .find(|(telltale, _)| ua.contains(telltale))
        .map(|(_, os)| *os);
    (browser(ua), os)
}

/// "curl 8.5" for an agent whose first product token is a known tool.
fn tool(ua: &str) -> Option<String> {
    let first = ua.split_whitespace().next()?;
    let (product, version) = first.split_once('/').unwrap_or((first, ""));
    let product = product.to_ascii_lowercase();
    let (_, name) = TOOLS.iter().find(|(token, _)| *token == product)?;
    // Major and minor are enough to tell releases apart.
    let version: Vec<&str> = version
        .split('.')
        .take(2)
        .take_while(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
        .collect();
    Some(if version.is_empty() {
        (*name).to_string()
    } else {
        format!("{name} {}", version.join("."))
    })
}

/// "Chrome 131" for an agent carrying a known browser's product token.
fn browser(ua: &str) -> Option<String> {
    let tokens = || {
        ua.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ';'))
            .filter(|t| !t.is_empty())
    };
    let named = BROWSERS.iter().find_map(|(marker, name)| {
        tokens().find_map(|t| t.strip_prefix(marker).map(|version| (*name, version)))
    });
    // Safari says its own version in "Version/17.1", and only "Safari/605.1.15" otherwise.
    let (name, version) = named.or_else(|| {
        tokens()
            .any(|t| t.starts_with("Safari/"))
            .then(|| tokens().find_map(|t| t.strip_prefix("Version/")))
            .flatten()
            .map(|version| ("Safari", version))
    })?;
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    Some(if major.is_empty() {
        name.to_string()
    } else {
        format!("{name} {major}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_named_with_major_version_and_os() {
        for (ua, expected) in [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0",
                "Chrome 131 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                "Chrome 131 on iPadOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome 131 on Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera 115 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on ChromeOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "Headless Chrome 131 on Linux",
            ),
            ("Mozilla/5.0 Firefox/133.0", "Firefox 133"),
        ] {
            assert_eq!(shorten(ua), expected, "{ua}");
        }
    }

    #[test]
    fn browser_and_os_are_told_apart_when_known() {
        assert_eq!(
            browser_and_os(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
            ),
            (Some("Firefox 133".into()), Some("Windows"))
        );
        assert_eq!(
            browser_and_os(
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
            ),
            (Some("Chrome 131".into()), Some("Android"))
        );
        assert_eq!(
            browser_and_os("curl/8.5.0"),
            (Some("curl 8.5".into()), None)
        );
        assert_eq!(browser_and_os("my-sync-job/1.0"), (None, None));
        assert_eq!(browser_and_os(""), (None, None));
        assert_eq!(
            browser_and_os("Mozilla/5.0 (X11; Linux x86_64)"),
            (None, Some("Linux"))
        );
    }

    #[test]
    fn tools_are_named_with_major_and_minor_version() {
        for (ua, expected) in [
            ("curl/8.5.0", "curl 8.5"),
            ("curl/8", "curl 8"),
            ("curl", "curl"),
            ("CURL/7.81.0-DEV", "curl 7.81"),
            ("curl/8.5rc1", "curl 8"),
            ("python-requests/2.31.0", "python-requests 2.31"),
            ("Go-http-client/1.1", "Go-http-client 1.1"),
            ("PostmanRuntime/7.39.0", "Postman 7.39"),
            ("Wget/1.21.4", "Wget 1.21"),
        ] {
            assert_eq!(shorten(ua), expected, "{ua}");
        }
    }

    #[test]
    fn anything_else_is_cut_after_forty_characters_on_a_character_boundary() {
        assert_eq!(shorten(""), "");
        assert_eq!(shorten("  "), "");
        assert_eq!(shorten("my-sync-job/1.0"), "my-sync-job/1.0");
        let long = "ÄÖÜ-internal-batch-runner/2.0 (build 5d1f3; +https://example.test)";
        let short = shorten(long);
        assert_eq!(short.chars().count(), 41);
        assert!(short.starts_with("ÄÖÜ-internal") && short.ends_with('…'));
        let forty = "x".repeat(40);
        assert_eq!(shorten(&forty), forty);
        // A Safari-looking agent without a version is not guessed at.
        assert_eq!(shorten("Safari/605.1.15"), "Safari/605.1.15");
        assert_eq!(
            shorten("Mozilla/5.0 Chrome/ (Windows)"),
            "Chrome on Windows"
        );
    }
}
