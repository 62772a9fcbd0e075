#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::str::FromStr;

use tokio_postgres::config::{Host, TargetSessionAttrs};

use super::*;

/// What the driver makes of the string we hand it.
fn driven(url: &DatabaseUrl) -> tokio_postgres::Config {
    tokio_postgres::Config::from_str(url.expose()).unwrap()
}

fn tcp_hosts(config: &tokio_postgres::Config) -> Vec<String> {
    config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect()
}

#[test]
fn the_url_form_with_several_hosts_reaches_the_driver_whole() {
    let url = DatabaseUrl::parse(
        "postgres://app:s3cret@db1.internal:5433,db2.internal:5434/m2m?target_session_attrs=read-write",
    )
    .unwrap();
    let config = driven(&url);
    assert_eq!(tcp_hosts(&config), ["db1.internal", "db2.internal"]);
    assert_eq!(config.get_ports(), [5433, 5434]);
    assert_eq!(config.get_dbname(), Some("m2m"));
    assert_eq!(config.get_user(), Some("app"));
    assert_eq!(config.get_password(), Some(&b"s3cret"[..]));
    assert_eq!(
        config.get_target_session_attrs(),
        TargetSessionAttrs::ReadWrite
    );
    assert_eq!(url.database_name(), "m2m");
    assert_eq!(url.hosts(), ["db1.internal", "db2.internal"]);
    assert!(url.requires_primary());
    assert!(
        !DatabaseUrl::parse("host=a,b dbname=m")
            .unwrap()
            .requires_primary()
    );
    assert_eq!(
        url.to_string(),
        "postgres://app:********@db1.internal:5433,db2.internal:5434/m2m?target_session_attrs=read-write"
    );
}

#[test]
fn the_keyword_form_means_the_same_as_the_url_form() {
    let url = DatabaseUrl::parse(
        "host=db1.internal,db2.internal port=5433,5434 dbname=m2m user=app \
         password='a \\'quoted\\' secret' target_session_attrs = read-write",
    )
    .unwrap();
    let config = driven(&url);
    assert_eq!(tcp_hosts(&config), ["db1.internal", "db2.internal"]);
    assert_eq!(config.get_ports(), [5433, 5434]);
    assert_eq!(config.get_dbname(), Some("m2m"));
    assert_eq!(config.get_password(), Some(&b"a 'quoted' secret"[..]));
    assert_eq!(
        config.get_target_session_attrs(),
        TargetSessionAttrs::ReadWrite
    );
    let shown = url.to_string();
    assert!(
        shown.contains("host='db1.internal,db2.internal'"),
        "{shown}"
    );
    assert!(shown.contains("password='********'"), "{shown}");
    assert!(!shown.contains("quoted"), "{shown}");
}

#[test]
fn another_database_keeps_every_host_and_option() {
    let url = DatabaseUrl::parse(
        "postgresql://app@h1:5433,h2/m2m_console?target_session_attrs=read-write&connect_timeout=7",
    )
    .unwrap();
    let maintenance = url.with_database("postgres");
    let config = driven(&maintenance);
    assert_eq!(config.get_dbname(), Some("postgres"));
    assert_eq!(tcp_hosts(&config), ["h1", "h2"]);
    assert_eq!(
        config.get_ports(),
        [5433, 5432],
        "a host without a port gets 5432"
    );
    assert_eq!(
        config.get_target_session_attrs(),
        TargetSessionAttrs::ReadWrite
    );
    assert_eq!(
        config.get_connect_timeout(),
        Some(&std::time::Duration::from_secs(7))
    );
    assert_eq!(maintenance.database_name(), "postgres");
    assert_eq!(
        url.database_name(),
        "m2m_console",
        "the original is unchanged"
    );
}

#[test]
fn each_host_gets_a_connect_timeout_and_sessions_are_named_unless_given() {
    let url = DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/m2m").unwrap();
    let config = driven(&url);
    assert_eq!(
        config.get_connect_timeout(),
        Some(&std::time::Duration::from_secs(2))
    );
    assert_eq!(config.get_application_name(), Some("m2m-console"));
    assert_eq!(url.to_string(), "postgres://postgres@127.0.0.1:5432/m2m");
    let url =
        DatabaseUrl::parse("host=h dbname=m application_name=edge connect_timeout=9").unwrap();
    let config = driven(&url);
    assert_eq!(config.get_application_name(), Some("edge"));
    assert_eq!(
        config.get_connect_timeout(),
        Some(&std::time::Duration::from_secs(9))
    );
}

#[test]
fn primary_means_read_write_for_the_driver() {
    let url = DatabaseUrl::parse("host=a,b dbname=m target_session_attrs=primary").unwrap();
    assert_eq!(
        driven(&url).get_target_session_attrs(),
        TargetSessionAttrs::ReadWrite
    );
}

#[test]
fn ipv6_sockets_and_escapes_are_read_as_libpq_reads_them() {
    let url = DatabaseUrl::parse("postgres://u:p%40ss@[::1]:5433,[fe80::2]/my%20db").unwrap();
    let config = driven(&url);
    assert_eq!(tcp_hosts(&config), ["::1", "fe80::2"]);
    assert_eq!(config.get_ports(), [5433, 5432]);
    assert_eq!(config.get_password(), Some(&b"p@ss"[..]));
    assert_eq!(url.database_name(), "my db");
    assert_eq!(
        url.to_string(),
        "postgres://u:********@[::1]:5433,[fe80::2]/my%20db"
    );
    let url = DatabaseUrl::parse("postgres:///m2m?host=/var/run/postgresql&user=app").unwrap();
    let config = driven(&url);
    assert_eq!(tcp_hosts(&config), ["/var/run/postgresql"]);
    assert!(matches!(config.get_hosts()[0], Host::Unix(_)));
    assert_eq!(url.database_name(), "m2m");
}

#[test]
fn a_password_given_as_a_url_parameter_is_hidden_too() {
    let url = DatabaseUrl::parse("postgres://app@h/m?password=hunter2").unwrap();
    assert_eq!(driven(&url).get_password(), Some(&b"hunter2"[..]));
    assert!(!url.to_string().contains("hunter2"), "{url}");
    assert_eq!(url.to_string(), "postgres://app:********@h/m");
    assert!(!format!("{url:?}").contains("hunter2"));
}

#[test]
fn the_display_hides_the_password() {
    let url = DatabaseUrl::parse("postgres://app:hunter2@db:5432/m2m").unwrap();
    assert_eq!(url.to_string(), "postgres://app:********@db:5432/m2m");
    assert!(!format!("{url:?}").contains("hunter2"));
    assert_eq!(url.database_name(), "m2m");
}

#[test]
fn bad_strings_get_one_line_that_never_shows_the_password() {
    for (raw, says) in [
        ("mysql://u:hunter2@h/db", "postgres://"),
        ("not a connection string", "expected a URL"),
        ("postgres://u:hunter2@h1:5432,h2:x/db", "not a port"),
        (
            "host=h1,h2,h3 port=1,2 dbname=db password=hunter2",
            "2 ports for 3 hosts",
        ),
        ("postgres://u:hunter2@h1/", "names no database"),
        ("host=h1 dbname=d password='hunter2", "closing '"),
        (
            "host=h1 dbname=d password=hunter2 sslcert=x",
            "unknown parameter",
        ),
        (
            "postgres://u:hunter2@h/db?target_session_attrs=standby",
            "read-write",
        ),
        ("postgres://u:hunter2@h/db?sslmode=verify-full", "sslmode"),
        ("dbname=d password=hunter2", "names no host"),
        (
            "host=h dbname=d connect_timeout=soon password=hunter2",
            "whole number",
        ),
        ("postgres://u:hunter2@[::1/db", "closing ]"),
        ("postgres://u:hunter2@h/d%zzb", "hex digits"),
        ("host=h dbname password=hunter2", "no = value"),
    ] {
        let err = DatabaseUrl::parse(raw).unwrap_err();
        assert!(err.contains(says), "{raw}: {err}");
        assert!(!err.contains("hunter2"), "{raw}: {err}");
        assert!(!err.contains('\n'), "{raw}: {err}");
    }
}
