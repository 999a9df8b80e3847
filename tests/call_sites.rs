//! `call_sites()` lists every annotated function of the program, with its names
//! and location; `install` checks a config against all of them.

use std::io;

use retry_runtime::{Config, InstallError, NameKind, call_sites, install, retryable};

#[retryable]
async fn plain() -> io::Result<()> {
    Ok(())
}

#[retryable(
    policy = "sites-policy",
    breaker = "sites-breaker",
    budget = "sites-budget",
    idempotent,
    name = "sites.custom"
)]
async fn custom(buf: &mut Vec<u8>) -> io::Result<()> {
    buf.push(1);
    Ok(())
}

struct Client;

impl Client {
    #[retryable(policy = "sites-policy")]
    async fn method(&self) -> io::Result<()> {
        Ok(())
    }
}

/// The line of `needle` in this file, so the assertions survive reformatting.
fn line_of(needle: &str) -> u32 {
    let index = include_str!("call_sites.rs")
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle in this file");
    u32::try_from(index + 1).unwrap()
}

fn site(name: &str) -> &'static retry_runtime::CallSite {
    call_sites()
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no call site {name}; have {:?}", call_sites()))
}

#[tokio::test]
async fn the_listed_functions_run() {
    plain().await.unwrap();
    Client.method().await.unwrap();
    let mut buf = Vec::new();
    custom(&mut buf).await.unwrap();
}

#[test]
fn every_annotated_function_is_listed_with_its_names_and_location() {
    assert_eq!(call_sites().len(), 3, "{:?}", call_sites());

    let p = site("call_sites::plain");
    assert_eq!(
        (p.policy(), p.breaker(), p.budget(), p.idempotent()),
        ("default", None, "default", false)
    );
    assert_eq!(p.module(), "call_sites");
    assert_eq!(p.file(), "tests/call_sites.rs");
    assert_eq!(p.line(), line_of("async fn plain()"));

    let c = site("sites.custom");
    assert_eq!(
        (c.policy(), c.breaker(), c.budget(), c.idempotent()),
        ("sites-policy", Some("sites-breaker"), "sites-budget", true)
    );
    assert_eq!(c.line(), line_of("async fn custom("));

    let m = site("call_sites::method");
    assert_eq!(
        (m.policy(), m.line()),
        ("sites-policy", line_of("async fn method("))
    );

    let debug = format!("{c:?}");
    let line = format!("line: {}", line_of("async fn custom("));
    for part in [
        "sites.custom",
        "sites-policy",
        "sites-breaker",
        "sites-budget",
        "idempotent: true",
        "tests/call_sites.rs",
        &line,
    ] {
        assert!(debug.contains(part), "{debug} lacks {part}");
    }
}

#[test]
fn install_names_every_missing_name_and_where_it_is_used() {
    let error = install(Config::from_toml_str("").unwrap()).unwrap_err();
    let InstallError::UndefinedNames { missing } = &error else {
        panic!("{error:?}")
    };
    let names: Vec<(NameKind, &str, usize)> = missing
        .iter()
        .map(|m| (m.kind, m.name, m.used_by.len()))
        .collect();
    assert_eq!(
        names,
        [
            (NameKind::Policy, "sites-policy", 2),
            (NameKind::Breaker, "sites-breaker", 1),
            (NameKind::Budget, "sites-budget", 1),
        ]
    );
    let message = error.to_string();
    for part in [
        "policy `sites-policy`",
        &format!(
            "call_sites::method (tests/call_sites.rs:{})",
            line_of("async fn method(")
        ),
        &format!(
            "sites.custom (tests/call_sites.rs:{})",
            line_of("async fn custom(")
        ),
        "breaker `sites-breaker`",
        "budget `sites-budget`",
        "[policies.sites-policy]",
    ] {
        assert!(message.contains(part), "{message}\nlacks {part}");
    }
}
