//! `DATABASE_URL` in both forms libpq accepts: a URL, `postgres://u:pw@h1:5432,h2:5432/db?
//! target_session_attrs=read-write`, or keyword=value pairs, `host=h1,h2 port=5432,5432 dbname=db
//! target_session_attrs=read-write`. Several hosts are tried in order; with `read-write` only a
//! host that accepts writes is kept, so an instance follows a failover to whichever host is now
//! the primary. The driver (tokio-postgres, under diesel-async) is handed the keyword form; the
//! password never reaches a log line or an error message.

use crate::input::quoted;
use std::fmt;

/// Seconds each host gets to accept the connection when `connect_timeout` is not given: a host
/// that does not answer at all (powered off, cut off by a firewall) is skipped for the next
/// one rather than using up the pool's whole connect budget. libpq's own minimum.
const DEFAULT_CONNECT_TIMEOUT: &str = "2";
/// What `pg_stat_activity` shows for our sessions when `application_name` is not given.
const DEFAULT_APPLICATION_NAME: &str = "m2m-console";

const EXPECTED: &str = "expected a URL such as postgres://user@host1:5432,host2:5432/dbname?\
                        target_session_attrs=read-write or keywords such as \
                        host=host1,host2 port=5432,5432 dbname=dbname target_session_attrs=read-write";

/// The libpq keywords the driver understands, besides the `NUMERIC` ones.
const KEYWORDS: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "sslmode",
    "sslnegotiation",
    "host",
    "hostaddr",
    "port",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];
/// The keywords the driver understands whose value is a whole number of seconds.
const NUMERIC: &[&str] = &[
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Url,
    Keywords,
}

/// A database connection string whose password never reaches a log line or an error message.
#[derive(Clone)]
pub struct DatabaseUrl {
    /// How it was written, so that messages show it the same way.
    form: Form,
    /// libpq keywords and their values, each keyword once (a later one overrides, as in
    /// libpq), in the order given.
    params: Vec<(String, String)>,
    /// What the driver is handed: the keyword form of `params`, with our defaults.
    driver: String,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (form, pairs) = match strip_scheme(raw) {
            Some(rest) => (Form::Url, parse_url(rest)?),
            None if raw.contains('=') => (Form::Keywords, parse_keywords(raw)?),
            None if raw.contains("://") => return Err("expected a postgres:// URL".into()),
            None => return Err(EXPECTED.into()),
        };
        let mut params = Vec::new();
        for (key, value) in pairs {
            set(&mut params, &key, value);
        }
        Self::from_params(form, params)
    }

    fn from_params(form: Form, params: Vec<(String, String)>) -> Result<Self, String> {
        validate(&params)?;
        let mut driven = params.clone();
        if get(&driven, "connect_timeout").is_none() {
            set(
                &mut driven,
                "connect_timeout",
                DEFAULT_CONNECT_TIMEOUT.into(),
            );
        }
        if get(&driven, "application_name").is_none() {
            set(
                &mut driven,
                "application_name",
                DEFAULT_APPLICATION_NAME.into(),
            );
        }
        // libpq's `primary` (not a hot standby) is what `read-write` checks for us: this
        // server writes on every connection it keeps.
        if get(&driven, "target_session_attrs") == Some("primary") {
            set(&mut driven, "target_session_attrs", "read-write".into());
        }
        let driver = keywords(&driven, false);
        Ok(Self {
            form,
            params,
            driver,
        })
    }

    /// The connection string, password included: only for handing to the database driver.
    pub fn expose(&self) -> &str {
        &self.driver
    }

    pub fn database_name(&self) -> String {
        get(&self.params, "dbname").unwrap_or_default().to_string()
    }

    /// The same hosts and options, another database (the maintenance database, a test's own).
    pub fn with_database(&self, name: &str) -> Self {
        let mut params = self.params.clone();
        set(&mut params, "dbname", name.to_string());
        // Validated already; only the database name changed, and it may be any text.
        Self::from_params(self.form, params).unwrap_or_else(|_| self.clone())
    }

    /// The hosts, in the order they are tried.
    pub fn hosts(&self) -> Vec<String> {
        list(get(&self.params, "host").unwrap_or_default())
    }

    /// Whether only a host that accepts writes is kept (`read-write` or `primary`). With
    /// several hosts and without it, an instance may settle on a standby.
    pub fn requires_primary(&self) -> bool {
        matches!(
            get(&self.params, "target_session_attrs"),
            Some("read-write" | "primary")
        )
    }
}

fn strip_scheme(raw: &str) -> Option<&str> {
    raw.strip_prefix("postgres://")
        .or_else(|| raw.strip_prefix("postgresql://"))
}

fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn set(params: &mut Vec<(String, String)>, key: &str, value: String) {
    match params.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => params.push((key.to_string(), value)),
    }
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::to_string).collect()
}

/// `user:password@host1:port1,host2:port2/dbname?keyword=value&…` (the part after the scheme).
fn parse_url(rest: &str) -> Result<Vec<(String, String)>, String> {
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = before_query.split_once('/').unwrap_or((before_query, ""));
    let mut pairs = Vec::new();
    let hosts = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                pairs.push(("user".into(), decode(user)?));
            }
            if let Some(password) = password {
                pairs.push(("password".into(), decode(password)?));
            }
            hosts
        }
        None => authority,
    };
    let (mut names, mut ports) = (Vec::new(), Vec::new());
    for spec in hosts.split(',') {
        let (name, port) = split_host_port(spec)?;
        names.push(decode(name)?);
        ports.push(port.to_string());
    }
    if names.iter().any(|n| !n.is_empty()) {
        pairs.push(("host".into(), names.join(",")));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        pairs.push(("port".into(), ports.join(",")));
    }
    if !path.is_empty() {
        pairs.push(("dbname".into(), decode(path)?));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("the URL's parameter {:?} has no value", quoted(pair, 64)))?;
        pairs.push((decode(key)?, decode(value)?));
    }
    Ok(pairs)
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(spec: &str) -> Result<(&str, &str), String> {
    if let Some(bracketed) = spec.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("the host {:?} lacks its closing ]", quoted(spec, 64)))?;
        return match after {
            "" => Ok((inside, "")),
            _ => after
                .strip_prefix(':')
                .map(|port| (inside, port))
                .ok_or_else(|| format!("unexpected text after the host {:?}", quoted(spec, 64))),
        };
    }
    Ok(spec.split_once(':').unwrap_or((spec, "")))
}

/// `%XX` escapes (as libpq: `+` stays a plus sign); the result must be UTF-8.
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "the URL has a % not followed by two hex digits".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the URL decodes to text that is not UTF-8".to_string())
}

/// libpq's keyword form: `keyword = value` pairs separated by whitespace; a value is either
/// bare (no whitespace) or in single quotes, with `\` escaping the next character in both.
fn parse_keywords(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("the keyword {:?} has no = value", quoted(&key, 64)));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of {key:?} lacks its closing '")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

fn validate(params: &[(String, String)]) -> Result<(), String> {
    for (key, value) in params {
        let numeric = NUMERIC.contains(&key.as_str());
        if !numeric && !KEYWORDS.contains(&key.as_str()) {
            return Err(format!(
                "unknown parameter {:?} (libpq keywords such as host, port, dbname, user, \
                 target_session_attrs, connect_timeout)",
                quoted(key, 64)
            ));
        }
        if numeric && value.trim().parse::<u32>().is_err() {
            return Err(format!(
                "{key} must be a whole number of seconds, got {value:?}"
            ));
        }
    }
    if get(params, "dbname").is_none_or(str::is_empty) {
        return Err("the URL names no database".into());
    }
    let hosts = get(params, "host")
        .or_else(|| get(params, "hostaddr"))
        .map(list)
        .ok_or("the URL names no host")?;
    if let Some(ports) = get(params, "port").map(list) {
        if ports.len() != 1 && ports.len() != hosts.len() {
            return Err(format!(
                "{} ports for {} hosts: give one port for all, or one per host",
                ports.len(),
                hosts.len()
            ));
        }
        if let Some(bad) = ports
            .iter()
            .find(|p| !p.is_empty() && p.parse::<u16>().is_err())
        {
            return Err(format!("{:?} is not a port number", quoted(bad, 64)));
        }
    }
    match get(params, "target_session_attrs") {
        None | Some("any" | "read-write" | "primary") => {}
        Some(other) => {
            return Err(format!(
                "target_session_attrs={} is not supported: this server writes on every \
                 connection; use read-write (or primary, the same here) or any",
                quoted(other, 64)
            ));
        }
    }
    match get(params, "sslmode") {
        None | Some("disable" | "prefer") => Ok(()),
        Some(other) => Err(format!(
            "sslmode={} is not supported: the server talks to PostgreSQL without TLS \
             (keep the database on a private network); use disable or prefer",
            quoted(other, 64)
        )),
    }
}

/// The keyword form; with `masked`, the password shows as `********`.
fn keywords(params: &[(String, String)], masked: bool) -> String {
    params
        .iter()
        .map(|(key, value)| {
            let value = if masked && key == "password" {
                "********".to_string()
            } else {
                value.replace('\\', "\\\\").replace('\'', "\\'")
            };
            format!("{key}='{value}'")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Percent-encodes all but unreserved characters, for showing a URL.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The URL form, password masked.
fn masked_url(params: &[(String, String)]) -> String {
    let mut url = String::from("postgres://");
    if let Some(user) = get(params, "user") {
        url.push_str(&encode(user));
        if get(params, "password").is_some() {
            url.push_str(":********");
        }
        url.push('@');
    }
    let hosts = list(get(params, "host").unwrap_or_default());
    let ports = list(get(params, "port").unwrap_or_default());
    let mut shown_hosts = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        let mut spec = if host.contains(':') {
            format!("[{host}]")
        } else {
            encode(host)
        };
        let port = match ports.as_slice() {
            [one] => Some(one),
            many => many.get(i),
        };
        if let Some(port) = port.filter(|p| !p.is_empty()) {
            spec = format!("{spec}:{port}");
        }
        shown_hosts.push(spec);
    }
    url.push_str(&shown_hosts.join(","));
    url.push('/');
    url.push_str(&encode(get(params, "dbname").unwrap_or_default()));
    let query: Vec<String> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "user" | "password" | "host" | "port" | "dbname"))
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    url
}

impl fmt::Display for DatabaseUrl {
    /// Shows the connection string as it was written, with any password replaced.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.form {
            Form::Url => f.write_str(&masked_url(&self.params)),
            Form::Keywords => f.write_str(&keywords(&self.params, true)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
#[path = "database_url_tests.rs"]
mod tests;
