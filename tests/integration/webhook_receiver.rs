//! A real HTTP server on 127.0.0.1 inside the test process that receives webhooks: the
//! application posts to it over TCP exactly as to any other endpoint, and the tests read what
//! it received. It can be told to answer with another status or a redirect, and be stopped
//! and started again on the same port to play an endpoint that is down.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn event(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Ok,
    Status(u16),
    /// 302 to another path of this receiver.
    Redirect,
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    reply: Arc<Mutex<Reply>>,
}

pub struct Receiver {
    pub port: u16,
    shared: Shared,
    handle: ServerHandle,
}

impl Receiver {
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// Listens on `port` (0: any free one).
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Shared {
            received: Arc::default(),
            reply: Arc::new(Mutex::new(Reply::Ok)),
        };
        let state = shared.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            shared,
            handle,
        }
    }

    /// The endpoint's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/m2m", self.port)
    }

    pub fn reply(&self, reply: Reply) {
        *self.shared.reply.lock().unwrap() = reply;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// What was received once there are at least `n` requests (10 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = self.received();
        panic!(
            "expected {n} webhooks, received {}: {:?}",
            got.len(),
            got.iter().map(Received::event).collect::<Vec<_>>()
        );
    }

    /// What was received once there are `expected` requests, checking that nothing more
    /// arrives within a second: each came once.
    pub async fn settled(&self, expected: usize) -> Vec<Received> {
        self.wait_for(expected).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let after = self.received();
        assert_eq!(
            after.len(),
            expected,
            "{:?}",
            after.iter().map(Received::event).collect::<Vec<_>>()
        );
        after
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<Shared>) -> HttpResponse {
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    state.received.lock().unwrap().push(Received {
        path: req.path().to_string(),
        headers,
        body: body.to_vec(),
    });
    let reply = *state.reply.lock().unwrap();
    match reply {
        Reply::Ok => HttpResponse::NoContent().finish(),
        Reply::Status(code) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).body("no")
        }
        Reply::Redirect => HttpResponse::Found()
            .insert_header(("Location", "/elsewhere"))
            .finish(),
    }
}

/// Checks `req`'s signature with the reference Standard Webhooks library: its full check
/// (timestamp within 5 minutes of now) when the attempt's time is near the real one, and its
/// signing function otherwise (a test moved the application's clock forward).
pub fn check(secret: &str, req: &Received) -> Result<(), String> {
    let wh = standardwebhooks::Webhook::new(secret).map_err(|e| e.to_string())?;
    let timestamp: i64 = req
        .header("webhook-timestamp")
        .parse()
        .map_err(|_| "no timestamp".to_string())?;
    let real_now = chrono::Utc::now().timestamp();
    if (timestamp - real_now).abs() < 240 {
        wh.verify(&req.body, &req.headers)
            .map_err(|e| e.to_string())
    } else {
        let expected = wh
            .sign(req.header("webhook-id"), timestamp, &req.body)
            .map_err(|e| e.to_string())?;
        if req.header("webhook-signature") == expected {
            Ok(())
        } else {
            Err("signature mismatch".into())
        }
    }
}

pub fn verify(secret: &str, req: &Received) {
    check(secret, req).unwrap_or_else(|e| panic!("signature refused: {e}"));
}
