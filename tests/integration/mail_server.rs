//! A real SMTP server (mailin-embedded) on an ephemeral port inside the test process: the
//! application sends to it over TCP exactly as to any other server, and the tests read
//! what it received. It can be told to answer "try again later" to simulate an outage.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::response::{INTERNAL_ERROR, OK};
use mailin_embedded::{Handler, Response, Server, SslConfig};

/// One message as received: the envelope and the raw data (headers and body).
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The `Subject:` header, unfolded and decoded (lettre encodes non-ASCII words).
    pub fn subject(&self) -> String {
        let headers = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value = None::<String>;
        for line in headers.split("\r\n") {
            match (&mut value, line.strip_prefix("Subject: ")) {
                (None, Some(start)) => value = Some(start.to_string()),
                (Some(v), None) if line.starts_with([' ', '\t']) => v.push_str(line),
                (Some(_), _) => break,
                _ => {}
            }
        }
        decode_words(&value.unwrap_or_default())
    }

    /// The body, decoded from the transfer encoding lettre chose.
    pub fn body(&self) -> String {
        use base64::Engine;
        let (headers, raw) = self.data.split_once("\r\n\r\n").unwrap_or_default();
        let encoding = headers
            .lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        match encoding.as_str() {
            "base64" => {
                let joined: String = raw.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap();
                String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
            }
            "quoted-printable" => quoted_printable(raw),
            _ => raw.replace("\r\n", "\n"),
        }
    }
}

/// Decodes RFC 2047 `=?utf-8?b?…?=` words (base64), as lettre writes them; the space
/// between two encoded words is not part of the text.
fn decode_words(s: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut previous_encoded = false;
    for word in s.split_whitespace() {
        let encoded = word
            .strip_prefix("=?utf-8?b?")
            .or_else(|| word.strip_prefix("=?UTF-8?B?"))
            .and_then(|w| w.strip_suffix("?="));
        if !(out.is_empty() || previous_encoded && encoded.is_some()) {
            out.push(' ');
        }
        match encoded {
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                out.push_str(&String::from_utf8(bytes).unwrap());
            }
            None => out.push_str(word),
        }
        previous_encoded = encoded.is_some();
    }
    out
}

fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if bytes[i] == b'='
            && let Some(b) = hex
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

#[derive(Clone)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    refusing: Arc<AtomicBool>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Inbox {
    fn rcpt(&mut self, to: &str) -> Response {
        if self.refusing.load(Ordering::SeqCst) {
            return INTERNAL_ERROR;
        }
        self.to.push(to.to_string());
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.received.lock().unwrap().push(Received {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        });
        OK
    }
}

pub struct MailServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    refusing: Arc<AtomicBool>,
}

impl MailServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(AtomicBool::new(false));
        let inbox = Inbox {
            received: received.clone(),
            refusing: refusing.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(inbox);
        server
            .with_name("mail.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        // Serves until the test process ends.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self {
            port,
            received,
            refusing,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers every recipient with 451 (try again later) while `refusing`.
    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// What arrived once at least `n` messages did (or after 15 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..150 {
            if self.received.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.received()
    }
}
