//! Headless Chromium through chromedriver, and the vocabulary the journeys are written in:
//! find by label, role text or `data-testid`, click, type, and check after every step that
//! the page logged no console error and no Content-Security-Policy violation.
//!
//! One chromedriver serves the whole test process; a watchdog process kills it (and every
//! Chromium it started) when the test process ends, however it ends. Each test gets its own
//! Chromium with a fresh profile.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use thirtyfour::prelude::*;
use thirtyfour::{BrowserLogEntry, LoggingPrefsLogLevel};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a step may take before the test fails (htmx swaps take milliseconds; this is
/// for a loaded 2-core machine).
pub(crate) const WAIT: Duration = Duration::from_secs(15);
pub(crate) const POLL: Duration = Duration::from_millis(50);

pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

struct Chromedriver {
    url: String,
    scratch: PathBuf,
}

fn chromedriver() -> &'static Chromedriver {
    static DRIVER: OnceLock<Chromedriver> = OnceLock::new();
    DRIVER.get_or_init(start_chromedriver)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port for chromedriver")
}

// chromedriver and its watchdog outlive this process on purpose: the watchdog reaps them.
#[allow(clippy::zombie_processes)]
fn start_chromedriver() -> Chromedriver {
    use std::os::unix::process::CommandExt;

    for binary in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: apt-get install -y chromium chromium-driver"
        );
    }
    let pid = std::process::id();
    let scratch = std::env::temp_dir().join(format!("m2m-browser-{pid}"));
    std::fs::create_dir_all(&scratch).unwrap();
    let log = std::fs::File::create(scratch.join("chromedriver.log")).unwrap();
    let port = free_port();
    // Its own process group: Ctrl-C on the test run does not reach it, and the watchdog
    // can end chromedriver and its browsers with one signal.
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("cannot start chromedriver");
    let script = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
kill -TERM "-$2" 2>/dev/null; sleep 2; kill -KILL "-$2" 2>/dev/null; rm -rf "$3""#;
    Command::new("sh")
        .args(["-c", script, "chromedriver-watchdog"])
        .arg(pid.to_string())
        .arg(child.id().to_string())
        .arg(&scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("cannot start the chromedriver watchdog");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Chromedriver {
        url: format!("http://127.0.0.1:{port}"),
        scratch,
    }
}

/// Installed before any page script runs: a CSP violation also lands in the console log,
/// with what was blocked and where.
const CSP_LISTENER: &str = r#"document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " in " + e.sourceFile + ":" + e.lineNumber);
}, true);"#;

/// One headless Chromium, pointed at one application.
pub struct Browser {
    pub driver: WebDriver,
    base: String,
    javascript: bool,
    /// Console lines that the current step expects (such as the 422 of a rejected form).
    expected: Vec<String>,
}

impl Browser {
    /// Chromium at 1280×900 with JavaScript on.
    pub async fn open(base: &str) -> Self {
        Self::launch(base, true, DESKTOP).await
    }

    /// Chromium with JavaScript switched off in its content settings.
    pub async fn without_javascript(base: &str) -> Self {
        Self::launch(base, false, DESKTOP).await
    }

    pub async fn with_size(base: &str, size: (u32, u32)) -> Self {
        Self::launch(base, true, size).await
    }

    async fn launch(base: &str, javascript: bool, (width, height): (u32, u32)) -> Self {
        // The WebDriver client is a reqwest client: it needs the process's TLS provider.
        m2m_console::tls::install_crypto_provider();
        static PROFILE: AtomicU32 = AtomicU32::new(0);
        let driver_process = chromedriver();
        let profile = driver_process.scratch.join(format!(
            "profile-{}",
            PROFILE.fetch_add(1, Ordering::Relaxed)
        ));
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--force-device-scale-factor=1",
            "--lang=en-US",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.display()))
            .unwrap();
        caps.add_arg(&format!("--window-size={width},{height}"))
            .unwrap();
        let mut prefs = json!({ "credentials_enable_service": false });
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        caps.add_experimental_option("prefs", prefs).unwrap();
        caps.set_browser_log_level(LoggingPrefsLogLevel::All)
            .unwrap();
        let driver = WebDriver::new(&driver_process.url, caps)
            .await
            .expect("cannot start a Chromium session");
        driver.set_window_rect(0, 0, width, height).await.unwrap();
        if javascript {
            // The copy buttons write to the clipboard, and the tests read it back.
            driver
                .cdp()
                .send_raw(
                    "Browser.grantPermissions",
                    json!({ "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"] }),
                )
                .await
                .unwrap();
            driver
                .cdp()
                .send_raw(
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({ "source": CSP_LISTENER }),
                )
                .await
                .unwrap();
        }
        Self {
            driver,
            base: base.trim_end_matches('/').to_string(),
            javascript,
            expected: Vec::new(),
        }
    }

    /// Checks the console one last time and closes Chromium.
    pub async fn quit(mut self) {
        self.assert_clean("the end of the test").await;
        self.driver.quit().await.unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// Navigates (like typing into the address bar) and checks the console.
    pub async fn goto(&mut self, path: &str) {
        let url = self.url(path);
        self.driver.goto(url).await.unwrap();
        self.wait_for_page().await;
        self.assert_clean(&format!("opening {path}")).await;
    }

    pub async fn refresh(&mut self) {
        self.driver.refresh().await.unwrap();
        self.wait_for_page().await;
        self.assert_clean("reloading").await;
    }

    /// Waits until the document finished loading (and htmx, when it runs, is idle).
    pub async fn wait_for_page(&self) {
        if !self.javascript {
            return; // WebDriver navigation already waits for the load event.
        }
        self.wait_until("the page to settle", async || {
            self.driver
                .execute(
                    "return document.readyState === 'complete' && !document.querySelector('.htmx-request');",
                    vec![],
                )
                .await
                .ok()
                .and_then(|r| r.json().as_bool())
                .unwrap_or(false)
        })
        .await;
    }

    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Polls `check` until it holds.
    pub async fn wait_until(&self, what: &str, mut check: impl AsyncFnMut() -> bool) {
        let started = Instant::now();
        loop {
            if check().await {
                return;
            }
            assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
            tokio::time::sleep(POLL).await;
        }
    }

    // --- finding things --------------------------------------------------------------------

    /// The element with `data-testid="id"`, waiting for it to appear.
    pub async fn testid(&self, id: &str) -> WebElement {
        self.driver
            .query(By::Css(testid_css(id)))
            .wait(WAIT, POLL)
            .desc(&format!("[data-testid={id}]"))
            .first()
            .await
            .unwrap_or_else(|e| panic!("no element with data-testid={id}: {e}"))
    }

    /// The displayed element with `data-testid="id"` inside `scope`.
    pub async fn testid_in(&self, scope: &WebElement, id: &str) -> WebElement {
        scope
            .query(By::Css(testid_css(id)))
            .wait(WAIT, POLL)
            .first()
            .await
            .unwrap_or_else(|e| panic!("no element with data-testid={id} in scope: {e}"))
    }

    /// Every element with `data-testid="id"` now (no waiting).
    pub async fn all_testid(&self, id: &str) -> Vec<WebElement> {
        self.driver.find_all(By::Css(testid_css(id))).await.unwrap()
    }

    pub async fn has_testid(&self, id: &str) -> bool {
        !self.all_testid(id).await.is_empty()
    }

    /// Waits until nothing has `data-testid="id"`.
    pub async fn wait_testid_gone(&self, id: &str) {
        self.wait_until(&format!("[data-testid={id}] to go"), async || {
            !self.has_testid(id).await
        })
        .await;
    }

    /// The form control whose `<label>` reads `label` (ignoring the required-field asterisk),
    /// as a screen reader user would find it.
    pub async fn field(&self, label: &str) -> WebElement {
        let xpath = format!(
            "//label[normalize-space(text()[1])={}]",
            xpath_literal(label)
        );
        let label_el = self
            .driver
            .query(By::XPath(xpath))
            .wait(WAIT, POLL)
            .and_displayed()
            .first()
            .await
            .unwrap_or_else(|e| panic!("no label {label:?}: {e}"));
        match label_el.attr("for").await.unwrap() {
            Some(id) => self.driver.find(By::Id(id)).await.unwrap(),
            // A control wrapped by its label.
            None => label_el
                .find(By::Css("input, select, textarea"))
                .await
                .unwrap(),
        }
    }

    /// The visible button or link whose text reads `text`.
    pub async fn button(&self, text: &str) -> WebElement {
        let xpath = format!(
            "//*[self::button or self::a or self::input[@type='submit']][normalize-space(.)={0} or @value={0} or @aria-label={0}]",
            xpath_literal(text)
        );
        self.driver
            .query(By::XPath(xpath))
            .wait(WAIT, POLL)
            .and_displayed()
            .first()
            .await
            .unwrap_or_else(|e| panic!("no button {text:?}: {e}"))
    }

    /// The open modal dialog, waiting for it.
    pub async fn dialog(&self) -> WebElement {
        self.driver
            .query(By::Css("dialog[open]"))
            .wait(WAIT, POLL)
            .first()
            .await
            .unwrap_or_else(|e| panic!("no open dialog: {e}"))
    }

    pub async fn wait_dialog_closed(&self) {
        self.wait_until("the dialog to close", async || {
            self.driver
                .find_all(By::Css("dialog[open]"))
                .await
                .map(|d| d.is_empty())
                .unwrap_or(false)
        })
        .await;
    }

    // --- acting ------------------------------------------------------------------------------

    /// Allows console lines containing `fragment` until the next `assert_clean`.
    pub fn expect_console(&mut self, fragment: &str) {
        self.expected.push(fragment.to_string());
    }

    /// Drains the browser's console log: the errors and CSP violations in it that the
    /// current step did not expect.
    pub async fn console_problems(&mut self) -> Vec<String> {
        let entries = self.driver.browser_log().await.unwrap();
        let expected = std::mem::take(&mut self.expected);
        entries
            .iter()
            .filter(|e| is_problem(e))
            .filter(|e| !expected.iter().any(|x| e.message.contains(x)))
            .map(|e| {
                format!(
                    "{} [{}] {}",
                    e.level,
                    e.source.as_deref().unwrap_or("?"),
                    e.message
                )
            })
            .collect()
    }

    /// Fails on any console error or CSP violation logged since the last check.
    pub async fn assert_clean(&mut self, step: &str) {
        let bad = self.console_problems().await;
        assert!(
            bad.is_empty(),
            "{step}: the browser logged errors or CSP violations:\n  {}",
            bad.join("\n  ")
        );
    }

    /// Saves a PNG of the viewport as `target/screenshots/{name}.png` (reduced to 256
    /// colours, about a third of the size, which the committed set cares about), and with
    /// `UPDATE_SCREENSHOTS=1` also as `tests/screenshots/{name}.png`: an ordinary run leaves
    /// the committed set alone.
    pub async fn screenshot(&self, name: &str) {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.driver.screenshot_as_png().await.unwrap();
        let file = dir.join(format!("{name}.png"));
        std::fs::write(&file, to_256_colours(&png)).unwrap();
        if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let committed = root.join("tests/screenshots");
            std::fs::create_dir_all(&committed).unwrap();
            std::fs::copy(&file, committed.join(format!("{name}.png"))).unwrap();
        }
    }

    /// A screenshot of the whole page, not only the viewport: the window grows to the
    /// document's height for the picture, then returns to its size.
    pub async fn screenshot_full(&self, name: &str) {
        let rect = self.driver.get_window_rect().await.unwrap();
        let height = self
            .driver
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .unwrap()
            .json()
            .as_i64()
            .unwrap_or(rect.height);
        let tall = height.clamp(rect.height, 4000);
        self.driver
            .set_window_rect(0, 0, rect.width as u32, tall as u32)
            .await
            .unwrap();
        self.screenshot(name).await;
        self.driver
            .set_window_rect(0, 0, rect.width as u32, rect.height as u32)
            .await
            .unwrap();
    }
}

fn is_problem(e: &BrowserLogEntry) -> bool {
    e.level == "SEVERE"
        || e.message.contains("Content Security Policy")
        || e.message.contains("CSP violation")
}

pub fn testid_css(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// `text` as an XPath 1.0 string literal.
pub(crate) fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Re-encodes a PNG as an indexed one with a 256-colour palette (NeuQuant).
fn to_256_colours(png_bytes: &[u8]) -> Vec<u8> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(
        png::Transformations::EXPAND | png::Transformations::ALPHA | png::Transformations::STRIP_16,
    );
    let mut reader = decoder.read_info().unwrap();
    let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgba).unwrap();
    rgba.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgba);
    let quant = color_quant::NeuQuant::new(3, 256, &rgba);
    let indices: Vec<u8> = rgba
        .chunks_exact(4)
        .map(|px| u8::try_from(quant.index_of(px)).unwrap())
        .collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, info.width, info.height);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(quant.color_map_rgb());
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&indices).unwrap();
    }
    out
}
