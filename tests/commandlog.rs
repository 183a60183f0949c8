//! COMMANDLOG (slow, large-request, large-reply) and SLOWLOG as its `slow` view.

mod common;
use common::{assert_err, TestServer, R};

#[test]
fn logs_by_type_with_thresholds_and_limits() {
    let s = TestServer::start(&[
        "--enable-debug-command",
        "yes",
        "--commandlog-execution-slower-than",
        "1000000",
        "--commandlog-request-larger-than",
        "1024",
        "--commandlog-reply-larger-than",
        "1024",
    ]);
    let mut c = s.raw();
    for t in ["slow", "large-request", "large-reply"] {
        assert_eq!(c.cmd(&format!("COMMANDLOG LEN {t}")), R::Int(0));
    }
    let big = "A".repeat(1100);
    c.cmd(&format!("SET k {big}"));
    assert_eq!(c.cmd("COMMANDLOG LEN large-request"), R::Int(1));
    assert_eq!(c.cmd("COMMANDLOG LEN large-reply"), R::Int(0));
    c.cmd("GET k");
    assert_eq!(c.cmd("COMMANDLOG LEN large-reply"), R::Int(1));
    let e = c.cmd("COMMANDLOG GET -1 large-reply").items()[0].items();
    assert_eq!(e.len(), 6);
    assert_eq!(e[3], R::Array(vec![R::bulk("GET"), R::bulk("k")]));
    match &e[2] {
        R::Int(n) => assert!(*n > 1024),
        other => panic!("{other:?}"),
    }
    // the request entry keeps 128 bytes of a long argument
    let e = c.cmd("COMMANDLOG GET 1 large-request").items()[0].items();
    assert_eq!(
        e[3].items()[2],
        R::bulk(&format!("{}... (972 more bytes)", "A".repeat(128)))
    );
    // slow: DEBUG SLEEP is slow enough at a 100 ms threshold; SLOWLOG shows the same log
    c.cmd("CONFIG SET commandlog-execution-slower-than 100000");
    c.cmd("DEBUG SLEEP 0.15");
    assert_eq!(c.cmd("COMMANDLOG LEN slow"), R::Int(1));
    assert_eq!(c.cmd("SLOWLOG LEN"), R::Int(1));
    assert_eq!(c.cmd("COMMANDLOG RESET slow"), R::ok());
    assert_eq!(c.cmd("SLOWLOG LEN"), R::Int(0));
    assert_err(
        &c.cmd("COMMANDLOG LEN fast"),
        "ERR type should be one of the following",
    );
    assert_err(
        &c.cmd("COMMANDLOG GET -2 slow"),
        "ERR count should be greater than or equal to -1",
    );
    assert!(c.cmd("COMMANDLOG HELP").items()[0]
        .text()
        .starts_with("COMMANDLOG <subcommand>"));
    // secrets never reach a log
    c.cmd("CONFIG SET commandlog-execution-slower-than 0");
    c.cmd("CONFIG SET requirepass secret");
    c.cmd("AUTH secret");
    c.cmd("CONFIG SET requirepass \"\"");
    let lines: Vec<String> = c
        .cmd("COMMANDLOG GET -1 slow")
        .items()
        .iter()
        .map(|e| {
            let args: Vec<String> = e.items()[3].items().iter().map(R::text).collect();
            args.join(" ")
        })
        .collect();
    assert!(lines.iter().all(|l| !l.contains("secret")), "{lines:?}");
    assert!(lines.contains(&"AUTH (redacted)".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"CONFIG SET requirepass (redacted)".to_string()),
        "{lines:?}"
    );
}
