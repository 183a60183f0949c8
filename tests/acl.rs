//! ACL users: creating and describing users, authentication, command/category/key/
//! channel permissions with Valkey's exact errors, ACL LOG, MULTI and scripts, deleting
//! users, requirepass mirrored into the default user, ACL files.

mod common;
use common::{assert_err, Raw, TestServer, R};
use std::time::{Duration, Instant};

/// A connection authenticated as `user`.
fn login(s: &TestServer, user: &str, pass: &str) -> Raw {
    let mut c = s.raw();
    assert_eq!(c.cmd(&format!("AUTH {user} {pass}")), R::ok());
    c
}

/// The field `name` of one ACL LOG entry (a RESP2 flat key/value array).
fn field(entry: &R, name: &str) -> R {
    let items = entry.items();
    for pair in items.chunks(2) {
        if pair[0].text() == name {
            return pair[1].clone();
        }
    }
    panic!("no field {name} in {entry:?}");
}

#[test]
fn users_are_created_listed_and_described() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("ACL WHOAMI"), R::bulk("default"));
    assert_eq!(c.cmd("ACL SETUSER newuser"), R::ok());
    assert_eq!(
        c.cmd("ACL USERS").items(),
        vec![R::bulk("default"), R::bulk("newuser")]
    );
    assert_eq!(
        c.cmd("ACL LIST").items(),
        vec![
            R::bulk("user default on nopass sanitize-payload ~* &* +@all"),
            R::bulk("user newuser off sanitize-payload resetchannels -@all"),
        ]
    );
    assert_eq!(
        c.cmd("ACL SETUSER alice on >pw %R~r* ~k* +@string -set +client|id &ch*"),
        R::ok()
    );
    let g = c.cmd("ACL GETUSER alice").items();
    assert_eq!(g[0], R::bulk("flags"));
    assert_eq!(
        g[1].items(),
        vec![R::bulk("on"), R::bulk("sanitize-payload")]
    );
    // the password is shown as its SHA-256
    assert_eq!(
        g[3].items(),
        vec![R::bulk(
            "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"
        )]
    );
    assert_eq!(g[5], R::bulk("-@all +@string -set +client|id"));
    assert_eq!(g[7], R::bulk("%R~r* ~k*"));
    assert_eq!(g[9], R::bulk("&ch*"));
    assert_eq!(c.cmd("ACL GETUSER nobody"), R::Nil);
    assert_err(
        &c.cmd("ACL SETUSER alice bogus"),
        "ERR Error in ACL SETUSER modifier 'bogus': Syntax error",
    );
    assert_err(
        &c.cmd("ACL SETUSER alice +nosuchcommand"),
        "ERR Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL",
    );
    assert_err(
        &c.cmd("ACL SETUSER alice allkeys ~x"),
        "ERR Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern",
    );
    assert_err(
        &c.cmdv(&[b"ACL", b"SETUSER", b"a b"]),
        "ERR Usernames can't contain spaces or null characters",
    );
    assert_err(
        &c.cmd("ACL DELUSER default"),
        "ERR The 'default' user cannot be removed",
    );
    // a failed SETUSER changes nothing
    assert_eq!(
        c.cmd("ACL GETUSER alice").items()[5],
        R::bulk("-@all +@string -set +client|id")
    );
    assert_eq!(c.cmd("ACL SETUSER alice reset"), R::ok());
    assert_eq!(
        c.cmd("ACL LIST").items()[0],
        R::bulk("user alice off sanitize-payload resetchannels -@all")
    );
    let cats = c.cmd("ACL CAT").items();
    assert!(cats.contains(&R::bulk("keyspace")) && cats.contains(&R::bulk("scripting")));
    let strings = c.cmd("ACL CAT string").items();
    assert!(strings.contains(&R::bulk("get")) && !strings.contains(&R::bulk("hset")));
    assert_err(&c.cmd("ACL CAT nosuch"), "ERR Unknown category 'nosuch'");
    assert_eq!(c.cmd("ACL GENPASS").text().len(), 64);
    assert_eq!(c.cmd("ACL GENPASS 5").text().len(), 2);
    assert_err(
        &c.cmd("ACL GENPASS 0"),
        "ERR ACL GENPASS argument must be the number of bits",
    );
    let help = c.cmd("ACL HELP").items();
    assert_eq!(
        help[0],
        R::Simple("ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
    );
    assert_eq!(c.cmd("ACL DELUSER newuser alice nobody"), R::Int(2));
}

#[test]
fn authentication_and_passwords() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("ACL SETUSER bob >p1 >p2 +@all ~*"), R::ok());
    // new users start disabled
    assert_err(
        &c.cmd("AUTH bob p1"),
        "WRONGPASS invalid username-password pair or user is disabled.",
    );
    assert_eq!(c.cmd("ACL SETUSER bob on"), R::ok());
    let mut b = login(&s, "bob", "p2");
    assert_eq!(b.cmd("ACL WHOAMI"), R::bulk("bob"));
    assert_err(&b.cmd("AUTH bob wrong"), "WRONGPASS");
    // still bob after a failed AUTH
    assert_eq!(b.cmd("ACL WHOAMI"), R::bulk("bob"));
    assert_eq!(c.cmd("ACL SETUSER bob <p2"), R::ok());
    assert_err(&c.cmd("AUTH bob p2"), "WRONGPASS");
    assert_err(
        &c.cmd("ACL SETUSER bob <p2"),
        "ERR Error in ACL SETUSER modifier '<p2': The password you are trying to remove from the user does not exist",
    );
    // a hash can be given instead of the password
    let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // "password"
    assert_eq!(c.cmd(&format!("ACL SETUSER bob #{hash}")), R::ok());
    assert_eq!(c.cmd("AUTH bob password"), R::ok());
    assert_eq!(c.cmd(&format!("ACL SETUSER bob !{hash} nopass")), R::ok());
    assert_eq!(c.cmd("AUTH bob anything"), R::ok());
    assert_err(
        &c.cmd("ACL SETUSER bob #xyz"),
        "ERR Error in ACL SETUSER modifier '#xyz': The password hash must be exactly 64 characters",
    );
    // HELLO AUTH goes through the same users
    let mut h = s.raw();
    assert_err(
        &h.cmd("HELLO 3 AUTH bob"),
        "ERR Syntax error in HELLO option",
    );
    assert_eq!(c.cmd("ACL SETUSER bob resetpass >hp"), R::ok());
    assert_err(&h.cmd("HELLO 2 AUTH bob nope"), "WRONGPASS");
    assert!(matches!(h.cmd("HELLO 2 AUTH bob hp"), R::Array(_)));
    assert_eq!(h.cmd("ACL WHOAMI"), R::bulk("bob"));
}

#[test]
fn command_key_and_channel_permissions() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd("ACL SETUSER u on >pw +@string +@read -strlen +select|0 +publish +subscribe +psubscribe %R~r* %W~w* ~k* &news.*"),
        R::ok()
    );
    let mut u = login(&s, "u", "pw");
    assert_eq!(u.cmd("SET k1 v"), R::ok());
    assert_eq!(u.cmd("GET k1"), R::bulk("v"));
    assert_err(
        &u.cmd("STRLEN k1"),
        "NOPERM User u has no permissions to run the 'strlen' command",
    );
    assert_err(
        &u.cmd("HSET k1 a b"),
        "NOPERM User u has no permissions to run the 'hset' command",
    );
    assert_err(
        &u.cmd("CLIENT ID"),
        "NOPERM User u has no permissions to run the 'client|id' command",
    );
    // first-argument rule
    assert_eq!(u.cmd("SELECT 0"), R::ok());
    assert_err(
        &u.cmd("SELECT 1"),
        "NOPERM User u has no permissions to run the 'select' command",
    );
    // read patterns, write patterns
    assert_eq!(u.cmd("GET r1"), R::Nil);
    assert_err(&u.cmd("SET r1 v"), "NOPERM No permissions to access a key");
    assert_eq!(u.cmd("SET w1 v"), R::ok());
    assert_err(&u.cmd("GET w1"), "NOPERM No permissions to access a key");
    assert_err(
        &u.cmd("MGET k1 other"),
        "NOPERM No permissions to access a key",
    );
    // channels
    assert_eq!(u.cmd("PUBLISH news.tech hi"), R::Int(0));
    assert_err(
        &u.cmd("PUBLISH sport hi"),
        "NOPERM No permissions to access a channel",
    );
    // a pattern is allowed only if the user has that very pattern
    let mut sub = login(&s, "u", "pw");
    assert_err(
        &sub.cmd("PSUBSCRIBE news.t*"),
        "NOPERM No permissions to access a channel",
    );
    assert_eq!(
        sub.cmd("PSUBSCRIBE news.*").items()[0],
        R::bulk("psubscribe")
    );
    let mut sub2 = login(&s, "u", "pw");
    assert_err(
        &sub2.cmd("SUBSCRIBE news.a sport"),
        "NOPERM No permissions to access a channel",
    );
    // DRYRUN names the key or channel
    assert_eq!(admin.cmd("ACL DRYRUN u get k1"), R::ok());
    assert_eq!(
        admin.cmd("ACL DRYRUN u get zz"),
        R::bulk("User u has no permissions to access the 'zz' key")
    );
    assert_eq!(
        admin.cmd("ACL DRYRUN u publish x m"),
        R::bulk("User u has no permissions to access the 'x' channel")
    );
    assert_err(
        &admin.cmd("ACL DRYRUN nobody get k"),
        "ERR User 'nobody' not found",
    );
    assert_err(
        &admin.cmd("ACL DRYRUN u nosuch"),
        "ERR Command 'nosuch' not found",
    );
    // a change applies to connected clients at once
    assert_eq!(admin.cmd("ACL SETUSER u +strlen"), R::ok());
    assert_eq!(u.cmd("STRLEN k1"), R::Int(1));
}

#[test]
fn transactions_and_scripts_are_checked() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.cmd("ACL SETUSER m on >pw +@all ~k*"), R::ok());
    let mut m = login(&s, "m", "pw");
    assert_eq!(m.cmd("MULTI"), R::ok());
    assert_eq!(m.cmd("SET k1 v"), R::Simple("QUEUED".into()));
    assert_err(&m.cmd("SET x v"), "NOPERM No permissions to access a key");
    assert_err(&m.cmd("EXEC"), "EXECABORT");
    assert_eq!(m.cmd("EXISTS k1"), R::Int(0));
    // rules changed between queueing and EXEC
    assert_eq!(m.cmd("MULTI"), R::ok());
    assert_eq!(m.cmd("SET k2 v"), R::Simple("QUEUED".into()));
    assert_eq!(admin.cmd("ACL SETUSER m -set"), R::ok());
    let r = m.cmd("EXEC").items();
    assert_err(&r[0], "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call");
    assert_eq!(admin.cmd("ACL SETUSER m +set"), R::ok());
    // scripts run as their caller
    assert_err(
        &m.cmdv(&[b"EVAL", b"return redis.call('get','x')", b"0"]),
        "ERR ACL failure in script: No permissions to access a key",
    );
    let r = m.cmdv(&[b"EVAL", b"return redis.call('set','k3','v')", b"0"]);
    assert_eq!(r, R::ok());
    let r = m.cmdv(&[b"EVAL", b"return redis.pcall('get','x')", b"0"]);
    assert_err(
        &r,
        "ERR ACL failure in script: No permissions to access a key",
    );
    // the log tells the contexts apart
    let log = admin.cmd("ACL LOG").items();
    let contexts: Vec<String> = log.iter().map(|e| field(e, "context").text()).collect();
    assert!(contexts.contains(&"lua".to_string()), "{contexts:?}");
    assert!(contexts.contains(&"multi".to_string()), "{contexts:?}");
}

#[test]
fn acl_log_records_denials_and_failed_auth() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.cmd("ACL SETUSER l on >pw +get ~k*"), R::ok());
    let mut l = login(&s, "l", "pw");
    assert_err(&l.cmd("SET k v"), "NOPERM");
    assert_err(&l.cmd("SET k v"), "NOPERM");
    assert_err(&l.cmd("GET other"), "NOPERM");
    assert_err(&admin.cmd("AUTH l secretguess"), "WRONGPASS");
    let log = admin.cmd("ACL LOG").items();
    assert_eq!(log.len(), 3);
    // newest first; the auth entry names the command, never the password
    assert_eq!(field(&log[0], "reason"), R::bulk("auth"));
    assert_eq!(field(&log[0], "object"), R::bulk("AUTH"));
    assert_eq!(field(&log[0], "username"), R::bulk("l"));
    assert!(!field(&log[0], "client-info").text().contains("secretguess"));
    assert_eq!(field(&log[1], "reason"), R::bulk("key"));
    assert_eq!(field(&log[1], "object"), R::bulk("other"));
    // the same denial twice is one entry with a count
    assert_eq!(field(&log[2], "reason"), R::bulk("command"));
    assert_eq!(field(&log[2], "object"), R::bulk("set"));
    assert_eq!(field(&log[2], "count"), R::Int(2));
    assert_eq!(field(&log[2], "context"), R::bulk("toplevel"));
    assert_eq!(admin.cmd("ACL LOG 1").items().len(), 1);
    assert_eq!(admin.cmd("ACL LOG RESET"), R::ok());
    assert_eq!(admin.cmd("ACL LOG").items().len(), 0);
    // the maximum length applies
    assert_eq!(admin.cmd("CONFIG SET acllog-max-len 2"), R::ok());
    for k in ["a", "b", "c"] {
        assert_err(&l.cmd(&format!("GET {k}")), "NOPERM");
    }
    assert_eq!(admin.cmd("ACL LOG").items().len(), 2);
}

/// Polls until `c` sees its connection closed.
fn wait_closed(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(5);
    c.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok();
    while Instant::now() < deadline {
        if c.is_closed() {
            return;
        }
    }
    panic!("connection not closed");
}

#[test]
fn deleting_a_user_disconnects_its_clients() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.cmd("ACL SETUSER d on nopass +@all ~*"), R::ok());
    let mut d = login(&s, "d", "x");
    assert_eq!(d.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(admin.cmd("ACL DELUSER d"), R::Int(1));
    wait_closed(&mut d);
    // CLIENT KILL USER knows ACL users
    assert_eq!(admin.cmd("ACL SETUSER e on nopass +@all ~*"), R::ok());
    let mut e = login(&s, "e", "x");
    assert_eq!(e.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(admin.cmd("CLIENT KILL USER e"), R::Int(1));
    wait_closed(&mut e);
    assert_err(
        &admin.cmd("CLIENT KILL USER nobody"),
        "ERR No such user 'nobody'",
    );
}

#[test]
fn requirepass_is_the_default_users_password() {
    let s = TestServer::start(&["--requirepass", "secret"]);
    let mut c = s.raw();
    assert_err(&c.cmd("GET a"), "NOAUTH Authentication required.");
    assert_err(&c.cmd("AUTH wrong"), "WRONGPASS");
    assert_eq!(c.cmd("AUTH secret"), R::ok());
    assert_eq!(c.cmd("AUTH default secret"), R::ok());
    let g = c.cmd("ACL GETUSER default").items();
    assert_eq!(
        g[1].items(),
        vec![R::bulk("on"), R::bulk("sanitize-payload")]
    );
    assert_eq!(c.cmd("CONFIG SET requirepass other"), R::ok());
    assert_err(&s.raw().cmd("AUTH secret"), "WRONGPASS");
    assert_eq!(s.raw().cmd("AUTH other"), R::ok());
    assert_eq!(c.cmdv(&[b"CONFIG", b"SET", b"requirepass", b""]), R::ok());
    let mut open = s.raw();
    assert_eq!(open.cmd("PING"), R::Simple("PONG".into()));
    assert_err(
        &open.cmd("AUTH x"),
        "ERR AUTH <password> called without any password configured for the default user",
    );
    // switching the default user off makes new connections authenticate
    assert_eq!(c.cmd("ACL SETUSER default off"), R::ok());
    assert_err(&s.raw().cmd("GET a"), "NOAUTH Authentication required.");
}

#[test]
fn acl_file_save_and_load() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_err(
        &c.cmd("ACL SAVE"),
        "ERR This instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command",
    );
    assert_err(
        &c.cmd("ACL LOAD"),
        "ERR This instance is not configured to use an ACL file.",
    );
    let dir = std::env::temp_dir().join(format!("ferrokey-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.acl");
    std::fs::write(
        &file,
        "user alice on >pw ~* &* +@all\nuser default on nopass ~* &* +@all\n",
    )
    .unwrap();
    let s = TestServer::start(&["--aclfile", file.to_str().unwrap()]);
    let mut c = s.raw();
    assert_eq!(c.cmd("ACL LOAD"), R::ok());
    assert_eq!(
        c.cmd("ACL USERS").items(),
        vec![R::bulk("alice"), R::bulk("default")]
    );
    assert_eq!(c.cmd("AUTH alice pw"), R::ok());
    assert_eq!(c.cmd("ACL SETUSER carol on >x +get ~c*"), R::ok());
    assert_eq!(c.cmd("ACL SAVE"), R::ok());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("user carol on sanitize-payload #"), "{text}");
    assert_eq!(c.cmd("ACL DELUSER carol"), R::Int(1));
    assert_eq!(c.cmd("ACL LOAD"), R::ok());
    assert_eq!(s.raw().cmd("AUTH carol x"), R::ok());
    std::fs::write(&file, "user bad on +nosuch\n").unwrap();
    assert_err(&c.cmd("ACL LOAD"), "ERR ");
    // a failed load keeps the users
    assert_eq!(s.raw().cmd("AUTH carol x"), R::ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn users_from_the_config_and_the_aclfile_at_start() {
    let s = TestServer::start(&["--user", "cfg on >pw ~k* +get"]);
    let mut c = s.raw();
    assert_eq!(c.cmd("AUTH cfg pw"), R::ok());
    assert_eq!(c.cmd("GET k1"), R::Nil);
    assert_err(
        &c.cmd("SET k1 v"),
        "NOPERM User cfg has no permissions to run the 'set' command",
    );
    // the default user can be declared too: here it needs a password
    let s = TestServer::start(&["--user", "default on >dpw ~* &* +@all"]);
    let mut c = s.raw();
    assert_err(&c.cmd("GET a"), "NOAUTH Authentication required.");
    assert_eq!(c.cmd("AUTH dpw"), R::ok());
    // an aclfile is read at start
    let dir = std::env::temp_dir().join(format!("ferrokey-aclboot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("boot.acl");
    std::fs::write(&file, "user fromfile on >ff ~* &* +@all\n").unwrap();
    let s = TestServer::start(&["--aclfile", file.to_str().unwrap()]);
    assert_eq!(s.raw().cmd("AUTH fromfile ff"), R::ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn subscribers_lose_revoked_channels() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd("ACL SETUSER ps on >pw +@all ~* resetchannels &foo:1 &bar:*"),
        R::ok()
    );
    let mut sub = login(&s, "ps", "pw");
    assert_eq!(sub.cmd("SUBSCRIBE foo:1").items()[0], R::bulk("subscribe"));
    // more channels: the subscriber stays
    assert_eq!(
        admin.cmd("ACL SETUSER ps resetchannels &foo:1 &bar:* &baz"),
        R::ok()
    );
    assert_eq!(admin.cmd("PUBLISH foo:1 hello"), R::Int(1));
    // its channel revoked: it is disconnected
    assert_eq!(admin.cmd("ACL SETUSER ps resetchannels"), R::ok());
    wait_closed(&mut sub);
    assert_eq!(admin.cmd("PUBLISH foo:1 hello"), R::Int(0));
}

/// ACL SETUSER with each rule as one argument (selectors contain spaces).
fn setuser(c: &mut Raw, name: &str, rules: &[&str]) -> R {
    let mut args: Vec<&[u8]> = vec![b"ACL", b"SETUSER", name.as_bytes()];
    args.extend(rules.iter().map(|r| r.as_bytes()));
    c.cmdv(&args)
}

#[test]
fn selectors_each_allow_a_whole_command() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        setuser(&mut admin, "sel", &["on", ">pw", "-@all", "resetkeys"]),
        R::ok()
    );
    let mut c = login(&s, "sel", "pw");
    assert_err(
        &c.cmd("SET write::foo bar"),
        "NOPERM User sel has no permissions to run the 'set' command",
    );
    assert_eq!(
        setuser(
            &mut admin,
            "sel",
            &["(+@write ~write::*)", "(+@read ~read::*)"]
        ),
        R::ok()
    );
    assert_eq!(c.cmd("SET write::foo bar"), R::ok());
    assert_eq!(c.cmd("GET read::foo"), R::Nil);
    assert_err(
        &c.cmd("PING"),
        "NOPERM User sel has no permissions to run the 'ping' command",
    );
    assert_err(
        &c.cmd("GET write::foo"),
        "NOPERM No permissions to access a key",
    );
    assert_err(
        &c.cmd("SET read::foo bar"),
        "NOPERM No permissions to access a key",
    );
    // read and write patterns in different selectors do not add up
    assert_eq!(
        setuser(
            &mut admin,
            "rw",
            &["on", ">pw", "(%R~read* +@all)", "(%W~write* +@all)"]
        ),
        R::ok()
    );
    let mut c = login(&s, "rw", "pw");
    assert_eq!(admin.cmd("SET readstr v"), R::ok());
    assert_eq!(c.cmd("GET readstr"), R::bulk("v"));
    assert_eq!(c.cmd("LPUSH writelist 1"), R::Int(1));
    assert_err(
        &c.cmd("COPY readstr writestr"),
        "NOPERM No permissions to access a key",
    );
    // in one selector they do
    assert_eq!(
        setuser(
            &mut admin,
            "rw",
            &["clearselectors", "%R~read*", "%W~write*", "+@all"]
        ),
        R::ok()
    );
    assert_eq!(c.cmd("COPY readstr writestr"), R::Int(1));
    assert_err(
        &c.cmd("COPY writestr readstr"),
        "NOPERM No permissions to access a key",
    );
}

#[test]
fn read_and_write_permissions_follow_what_the_command_does_with_each_key() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd("ACL SETUSER u on >pw +@all %R~r* %W~w* %RW~rw*"),
        R::ok()
    );
    let mut c = login(&s, "u", "pw");
    // SET writes, and reads only with GET
    assert_eq!(c.cmd("SET w1 v"), R::ok());
    assert_err(
        &c.cmd("SET w1 v GET"),
        "NOPERM No permissions to access a key",
    );
    assert_err(&c.cmd("SET r1 v"), "NOPERM No permissions to access a key");
    assert_eq!(c.cmd("SET rw1 v GET"), R::Nil);
    // INCR reads and writes; LPUSH only inserts; EXISTS and TYPE need either
    assert_err(&c.cmd("INCR w2"), "NOPERM No permissions to access a key");
    assert_eq!(c.cmd("INCR rw2"), R::Int(1));
    assert_eq!(c.cmd("LPUSH w3 x"), R::Int(1));
    assert_eq!(c.cmd("EXISTS r1 w1"), R::Int(1));
    assert_err(
        &c.cmd("EXISTS nothing"),
        "NOPERM No permissions to access a key",
    );
    // BITFIELD writes only with SET or INCRBY
    assert_eq!(c.cmd("BITFIELD r4 GET u4 0").items(), vec![R::Int(0)]);
    assert_err(
        &c.cmd("BITFIELD r4 SET u4 0 1"),
        "NOPERM No permissions to access a key",
    );
    // DRYRUN names the key
    let dry = |c: &mut Raw, line: &str| c.cmd(&format!("ACL DRYRUN u {line}"));
    assert_eq!(dry(&mut admin, "SORT r STORE w"), R::ok());
    assert_eq!(
        dry(&mut admin, "SORT w STORE w"),
        R::bulk("User u has no permissions to access the 'w' key")
    );
    assert_eq!(dry(&mut admin, "EVAL_RO s 1 r"), R::ok());
    assert_eq!(
        dry(&mut admin, "EVAL s 1 r"),
        R::bulk("User u has no permissions to access the 'r' key")
    );
    assert_eq!(dry(&mut admin, "EVAL s 0 r"), R::ok());
    assert_eq!(dry(&mut admin, "EVAL s 3 rw r"), R::ok());
    assert_eq!(
        dry(&mut admin, "GEORADIUS r1 0 0 1 m STORE r2"),
        R::bulk("User u has no permissions to access the 'r2' key")
    );
    assert_eq!(
        dry(&mut admin, "GEORADIUS r1 0 0 1 m STOREDIST w1"),
        R::ok()
    );
}

#[test]
fn selectors_are_shown_and_reset() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        setuser(
            &mut c,
            "info",
            &[
                "-@all",
                "+get",
                "resetchannels",
                "&channel1",
                "%R~foo1",
                "%W~bar1",
                "~baz1"
            ]
        ),
        R::ok()
    );
    // a selector may be spread over several arguments
    assert_eq!(
        setuser(
            &mut c,
            "info",
            &[
                "(-@all",
                "+set",
                "resetchannels",
                "&channel2",
                "%R~foo2",
                "%W~bar2",
                "~baz2)"
            ]
        ),
        R::ok()
    );
    let g = c.cmd("ACL GETUSER info").items();
    assert_eq!(g[4], R::bulk("commands"));
    assert_eq!(g[5], R::bulk("-@all +get"));
    assert_eq!(g[7], R::bulk("%R~foo1 %W~bar1 ~baz1"));
    assert_eq!(g[9], R::bulk("&channel1"));
    assert_eq!(g[10], R::bulk("selectors"));
    let sel = g[11].items();
    assert_eq!(sel.len(), 1);
    assert_eq!(
        sel[0].items(),
        vec![
            R::bulk("commands"),
            R::bulk("-@all +set"),
            R::bulk("keys"),
            R::bulk("%R~foo2 %W~bar2 ~baz2"),
            R::bulk("channels"),
            R::bulk("&channel2"),
        ]
    );
    let list = c.cmd("ACL LIST").items();
    assert_eq!(
        list[1],
        R::bulk("user info off sanitize-payload %R~foo1 %W~bar1 ~baz1 resetchannels &channel1 -@all +get (%R~foo2 %W~bar2 ~baz2 resetchannels &channel2 -@all +set)")
    );
    // an empty selector allows nothing
    assert_eq!(setuser(&mut c, "info", &["()"]), R::ok());
    let g = c.cmd("ACL GETUSER info").items();
    assert_eq!(g[11].items()[1].items()[1], R::bulk("-@all"));
    assert_eq!(setuser(&mut c, "info", &["clearselectors"]), R::ok());
    assert_eq!(c.cmd("ACL GETUSER info").items()[11], R::Array(vec![]));
    assert_eq!(setuser(&mut c, "info", &["(~x +get)", "reset"]), R::ok());
    assert_eq!(
        c.cmd("ACL LIST").items()[1],
        R::bulk("user info off sanitize-payload resetchannels -@all")
    );
}

#[test]
fn selector_syntax_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_err(
        &setuser(&mut c, "bad", &["on", "(this-is-invalid)"]),
        "ERR Error in ACL SETUSER modifier '(this-is-invalid)': Syntax error",
    );
    assert_err(
        &setuser(&mut c, "bad", &["on", "(&*", "&fail)"]),
        "ERR Error in ACL SETUSER modifier '(&* &fail)': Adding a pattern after the * pattern (or the 'allchannels' flag)",
    );
    assert_err(
        &setuser(&mut c, "bad", &["on", "(+PING", "(+SELECT", "(+DEL"]),
        "ERR Unmatched parenthesis in acl selector starting at '(+PING'.",
    );
    assert_err(
        &setuser(&mut c, "bad", &[" () "]),
        "ERR Error in ACL SETUSER modifier ' () ': Syntax error",
    );
    assert_err(
        &setuser(&mut c, "bad", &[")"]),
        "ERR Error in ACL SETUSER modifier ')': Syntax error",
    );
    // nothing was created
    assert_eq!(c.cmd("ACL GETUSER bad"), R::Nil);
    // an empty rule changes nothing
    assert_eq!(setuser(&mut c, "bad", &[""]), R::ok());
}

#[test]
fn denials_with_selectors_name_the_last_unmatched_argument() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        setuser(
            &mut admin,
            "lg",
            &["on", "nopass", "+mget", "~key", "(+mget ~key ~otherkey)"]
        ),
        R::ok()
    );
    let mut c = login(&s, "lg", "x");
    let last_log = |admin: &mut Raw| admin.cmd("ACL LOG 1").items()[0].clone();
    assert_eq!(admin.cmd("ACL LOG RESET"), R::ok());
    assert_err(
        &c.cmd("GET key"),
        "NOPERM User lg has no permissions to run the 'get' command",
    );
    let e = last_log(&mut admin);
    assert_eq!(field(&e, "reason"), R::bulk("command"));
    assert_eq!(field(&e, "object"), R::bulk("get"));
    assert_err(
        &c.cmd("MGET otherkey someotherkey"),
        "NOPERM No permissions to access a key",
    );
    let e = last_log(&mut admin);
    assert_eq!(field(&e, "reason"), R::bulk("key"));
    assert_eq!(field(&e, "object"), R::bulk("someotherkey"));
    assert_eq!(
        admin.cmd("ACL DRYRUN lg MGET key otherkey someotherkey"),
        R::bulk("User lg has no permissions to access the 'someotherkey' key")
    );
    assert_eq!(admin.cmd("ACL DRYRUN lg MGET key otherkey"), R::ok());
    // channels: a selector with the channel allows it
    assert_eq!(
        setuser(&mut admin, "lg", &["resetchannels", "(+publish &news)"]),
        R::ok()
    );
    assert_eq!(c.cmd("PUBLISH news hi"), R::Int(0));
    assert_err(
        &c.cmd("PUBLISH sport hi"),
        "NOPERM No permissions to access a channel",
    );
}

#[test]
fn selectors_survive_acl_files() {
    let dir = std::env::temp_dir().join(format!("ferrokey-aclsel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sel.acl");
    std::fs::write(
        &file,
        "user alice on (+get ~rw*)\nuser bob on (+set %W~w*) (+get %R~r*)\n",
    )
    .unwrap();
    let s = TestServer::start(&["--aclfile", file.to_str().unwrap()]);
    let mut c = s.raw();
    let g = c.cmd("ACL GETUSER bob").items();
    let sel = g[11].items();
    assert_eq!(sel.len(), 2);
    assert_eq!(sel[0].items()[1], R::bulk("-@all +set"));
    assert_eq!(sel[0].items()[3], R::bulk("%W~w*"));
    assert_eq!(sel[1].items()[3], R::bulk("%R~r*"));
    assert_eq!(c.cmd("ACL SAVE"), R::ok());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("user bob on sanitize-payload resetchannels -@all (%W~w* resetchannels -@all +set) (%R~r* resetchannels -@all +get)"),
        "{text}"
    );
    assert_eq!(c.cmd("ACL LOAD"), R::ok());
    assert_eq!(c.cmd("ACL DRYRUN bob GET r1"), R::ok());
    std::fs::write(&file, "user carol on (+get ~x\n").unwrap();
    let r = c.cmd("ACL LOAD");
    assert!(
        r.text()
            .contains("Unmatched parenthesis in selector definition."),
        "{r:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sort_patterns_need_access_to_every_key() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        setuser(&mut admin, "app", &["on", ">p", "~app:*", "+@all"]),
        R::ok()
    );
    assert_eq!(
        setuser(&mut admin, "all", &["on", ">p", "allkeys", "+@all"]),
        R::ok()
    );
    admin.cmd("RPUSH app:l 3 1 2");
    admin.cmd("SET w_1 3");
    let mut c = login(&s, "app", "p");
    for (line, want) in [
        (
            "SORT app:l BY w_*",
            "ERR BY option of SORT denied due to insufficient ACL permissions.",
        ),
        (
            "SORT app:l GET #",
            "ERR GET option of SORT denied due to insufficient ACL permissions.",
        ),
        (
            "SORT_RO app:l LIMIT 0 1 GET #",
            "ERR GET option of SORT denied due to insufficient ACL permissions.",
        ),
        (
            "SORT app:l GET # bogus",
            "ERR GET option of SORT denied due to insufficient ACL permissions.",
        ),
        ("SORT app:l bogus GET #", "ERR syntax error"),
    ] {
        assert_eq!(c.cmd(line), R::Err(want.into()), "{line}");
    }
    // a BY without a pattern reaches no other key
    let words = |r: R| r.items().iter().map(R::text).collect::<Vec<_>>();
    assert_eq!(words(c.cmd("SORT app:l BY nosort")), ["3", "1", "2"]);
    assert_eq!(words(c.cmd("SORT app:l")), ["1", "2", "3"]);
    let mut all = login(&s, "all", "p");
    assert_eq!(words(all.cmd("SORT app:l BY w_* GET #")), ["2", "3", "1"]);
}

#[test]
fn a_read_only_app_user_reaches_nothing_else_by_any_path() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    admin.cmd("SET secret s3cr3t");
    admin.cmd("SET app:name ferrokey");
    // `~app:* +@read`, plus the scripting and transaction commands themselves so
    // that what they reach is what gets checked
    assert_eq!(
        setuser(
            &mut admin,
            "app",
            &["on", ">p", "~app:*", "+@read", "+eval", "+multi", "+exec"]
        ),
        R::ok()
    );
    let mut c = login(&s, "app", "p");
    assert_eq!(c.cmd("GET app:name"), R::bulk("ferrokey"));
    assert_err(
        &c.cmd("GET secret"),
        "NOPERM No permissions to access a key",
    );
    assert_err(
        &c.cmd("SET app:x 1"),
        "NOPERM User app has no permissions to run the 'set' command",
    );
    assert_err(
        &c.cmdv(&[b"EVAL", b"return redis.call('get','secret')", b"0"]),
        "ERR ACL failure in script: No permissions to access a key",
    );
    assert_err(
        &c.cmdv(&[b"EVAL", b"return redis.call('set','app:x','1')", b"0"]),
        "ERR ACL failure in script: User app has no permissions to run the 'set' command",
    );
    assert_eq!(
        c.cmdv(&[b"EVAL", b"return redis.call('get','app:name')", b"0"]),
        R::bulk("ferrokey")
    );
    assert_eq!(c.cmd("MULTI"), R::ok());
    assert_err(
        &c.cmd("GET secret"),
        "NOPERM No permissions to access a key",
    );
    assert_err(&c.cmd("SET app:x 1"), "NOPERM User app has no permissions");
    assert_err(&c.cmd("EXEC"), "EXECABORT");
    assert_eq!(admin.cmd("EXISTS app:x"), R::Int(0));
}
