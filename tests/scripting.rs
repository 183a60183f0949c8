//! Scripting: EVAL family, SCRIPT, FUNCTION/FCALL, reply conversions both ways, the
//! sandbox and Valkey's error texts.
mod common;
use common::*;
use std::time::{Duration, Instant};

fn eval(c: &mut Raw, script: &str, keys: &[&str], args: &[&str]) -> R {
    let n = keys.len().to_string();
    let mut v: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), n.as_bytes()];
    v.extend(keys.iter().map(|k| k.as_bytes()));
    v.extend(args.iter().map(|a| a.as_bytes()));
    c.cmdv(&v)
}

fn sha1(s: &str) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(s.as_bytes()))
}

#[test]
fn lua_to_reply_conversions_resp2() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(eval(&mut c, "return 'hello'", &[], &[]), R::bulk("hello"));
    assert_eq!(eval(&mut c, "return 100.5", &[], &[]), R::Int(100));
    assert_eq!(eval(&mut c, "return -3.9", &[], &[]), R::Int(-3));
    assert_eq!(eval(&mut c, "return true", &[], &[]), R::Int(1));
    assert_eq!(eval(&mut c, "return false", &[], &[]), R::Nil);
    assert_eq!(eval(&mut c, "return nil", &[], &[]), R::Nil);
    assert_eq!(
        eval(&mut c, "return {ok='fine'}", &[], &[]),
        R::Simple("fine".into())
    );
    assert_eq!(
        eval(&mut c, "return {err='ERR this is an error'}", &[], &[]),
        R::Err("ERR this is an error".into())
    );
    assert_eq!(
        eval(
            &mut c,
            "return redis.error_reply('MY_CODE custom msg')",
            &[],
            &[]
        ),
        R::Err("MY_CODE custom msg".into())
    );
    assert_eq!(
        eval(&mut c, "return redis.error_reply('nocode')", &[], &[]),
        R::Err("ERR nocode".into())
    );
    assert_eq!(
        eval(&mut c, "return server.status_reply('PONG')", &[], &[]),
        R::Simple("PONG".into())
    );
    assert_eq!(
        eval(&mut c, "return {1,2,3,'ciao',{1,2}}", &[], &[]),
        R::Array(vec![
            R::Int(1),
            R::Int(2),
            R::Int(3),
            R::bulk("ciao"),
            R::Array(vec![R::Int(1), R::Int(2)])
        ])
    );
    // an array stops at the first nil
    assert_eq!(
        eval(&mut c, "return {1,2,nil,4}", &[], &[]),
        R::Array(vec![R::Int(1), R::Int(2)])
    );
    assert_eq!(
        eval(
            &mut c,
            "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}",
            &["a", "b"],
            &["c", "d"]
        ),
        R::Array(vec![R::bulk("a"), R::bulk("b"), R::bulk("c"), R::bulk("d")])
    );
    // _G is an empty proxy; a metatable is never consulted
    assert_eq!(eval(&mut c, "return _G", &[], &[]), R::Array(vec![]));
    assert_eq!(
        eval(
            &mut c,
            "local a = {}; setmetatable(a,{__index=function() foo() end}) return a",
            &[],
            &[]
        ),
        R::Array(vec![])
    );
    // RESP3 types are downgraded for a RESP2 caller
    assert_eq!(
        eval(&mut c, "return {double=3.5}", &[], &[]),
        R::bulk("3.5")
    );
    assert_eq!(
        eval(&mut c, "return {map={a=1}}", &[], &[]),
        R::Array(vec![R::bulk("a"), R::Int(1)])
    );
    assert_eq!(
        eval(
            &mut c,
            "return {big_number='123456789012345678901234'}",
            &[],
            &[]
        ),
        R::bulk("123456789012345678901234")
    );
}

#[test]
fn reply_to_lua_conversions() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SET x 0"), R::ok());
    assert_eq!(
        eval(
            &mut c,
            "local foo = redis.pcall('incr',KEYS[1]) return {type(foo),foo}",
            &["x"],
            &[]
        ),
        R::Array(vec![R::bulk("number"), R::Int(1)])
    );
    assert_eq!(
        eval(
            &mut c,
            "local foo = redis.pcall('get','nokey') return {type(foo),foo == false}",
            &[],
            &[]
        ),
        R::Array(vec![R::bulk("boolean"), R::Int(1)])
    );
    assert_eq!(
        eval(
            &mut c,
            "local foo = redis.pcall('set','k','v') return {type(foo),foo['ok']}",
            &[],
            &[]
        ),
        R::Array(vec![R::bulk("table"), R::bulk("OK")])
    );
    assert_eq!(
        eval(
            &mut c,
            "local foo = redis.pcall('incr','k') return {type(foo),foo['err']}",
            &[],
            &[]
        ),
        R::Array(vec![
            R::bulk("table"),
            R::bulk("ERR value is not an integer or out of range")
        ])
    );
    assert_eq!(c.cmd("RPUSH l a b c"), R::Int(3));
    assert_eq!(
        eval(
            &mut c,
            "local foo = redis.call('lrange',KEYS[1],0,-1) return {type(foo),foo[1],foo[3],#foo}",
            &["l"],
            &[]
        ),
        R::Array(vec![
            R::bulk("table"),
            R::bulk("a"),
            R::bulk("c"),
            R::Int(3)
        ])
    );
    // numbers passed to commands: integers as integers, others in full precision
    assert_eq!(
        eval(&mut c, "redis.call('set','n',3.0) redis.call('set','f',0.5) return {redis.call('get','n'), redis.call('get','f')}", &[], &[]),
        R::Array(vec![R::bulk("3"), R::bulk("0.5")])
    );
    assert_err(
        &eval(&mut c, "return redis.call('set','k',{})", &[], &[]),
        "ERR Command arguments must be strings or integers",
    );
}

#[test]
fn resp3_conversions() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert!(matches!(c.cmd("HELLO 3"), R::Map(_)));
    assert_eq!(c.cmd("HSET h a 1"), R::Int(1));
    assert_eq!(
        eval(
            &mut c,
            "redis.setresp(3); return redis.call('hgetall','h')",
            &[],
            &[]
        ),
        R::Map(vec![(R::bulk("a"), R::bulk("1"))])
    );
    // a RESP2 script still sees the RESP2 reply
    assert_eq!(
        eval(&mut c, "return redis.call('hgetall','h')", &[], &[]),
        R::Array(vec![R::bulk("a"), R::bulk("1")])
    );
    assert_eq!(
        eval(&mut c, "return {double=3.5}", &[], &[]),
        R::Double("3.5".into())
    );
    assert_eq!(
        eval(&mut c, "return {set={a=true}}", &[], &[]),
        R::Set(vec![R::bulk("a")])
    );
    assert_eq!(
        eval(
            &mut c,
            "return {big_number='1234567890123456789012'}",
            &[],
            &[]
        ),
        R::BigNum("1234567890123456789012".into())
    );
    assert_eq!(
        eval(
            &mut c,
            "return {verbatim_string={format='txt', string='hi'}}",
            &[],
            &[]
        ),
        R::Verbatim("hi".into())
    );
    // booleans: RESP2 script rules (1 / null) unless the script chose RESP3
    assert_eq!(eval(&mut c, "return false", &[], &[]), R::Nil);
    assert_eq!(
        eval(&mut c, "redis.setresp(3) return false", &[], &[]),
        R::Bool(false)
    );
    assert_eq!(
        eval(&mut c, "redis.setresp(3) return true", &[], &[]),
        R::Bool(true)
    );
    // RESP3 replies reach the script as tagged tables
    assert_eq!(
        eval(
            &mut c,
            "redis.setresp(3); local d = redis.call('zscore','nokey','a'); return d == nil",
            &[],
            &[]
        ),
        R::Bool(true)
    );
    assert_err(
        &eval(&mut c, "redis.setresp(4)", &[], &[]),
        "ERR RESP version must be 2 or 3.",
    );
}

#[test]
fn evalsha_and_script_cache() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let body = "return redis.call('get',KEYS[1])";
    let sha = sha1(body);
    assert_eq!(c.cmd("SET mykey myval"), R::ok());
    assert_eq!(eval(&mut c, body, &["mykey"], &[]), R::bulk("myval"));
    assert_eq!(
        c.cmdv(&[b"EVALSHA", sha.as_bytes(), b"1", b"mykey"]),
        R::bulk("myval")
    );
    assert_eq!(
        c.cmdv(&[b"EVALSHA_RO", sha.to_uppercase().as_bytes(), b"1", b"mykey"]),
        R::bulk("myval")
    );
    assert_eq!(
        c.cmd("EVALSHA NotValidShaSUM 0"),
        R::Err("NOSCRIPT No matching script.".into())
    );
    assert_err(
        &c.cmd("EVALSHA ffd632c7d33e571e9f24556ebed26c3479a87130 0"),
        "NOSCRIPT",
    );
    let loaded = c.cmdv(&[b"SCRIPT", b"LOAD", b"return 'loaded'"]);
    assert_eq!(loaded, R::bulk(&sha1("return 'loaded'")));
    let exists = c.cmdv(&[
        b"SCRIPT",
        b"EXISTS",
        sha.as_bytes(),
        b"ffd632c7d33e571e9f24556ebed26c3479a87130",
    ]);
    assert_eq!(exists, R::Array(vec![R::Int(1), R::Int(0)]));
    assert_eq!(c.cmdv(&[b"SCRIPT", b"SHOW", sha.as_bytes()]), R::bulk(body));
    assert_err(&c.cmd("SCRIPT SHOW 0000"), "NOSCRIPT");
    assert_eq!(c.cmd("SCRIPT FLUSH ASYNC"), R::ok());
    assert_eq!(c.cmd("SCRIPT FLUSH SYNC"), R::ok());
    assert_err(
        &c.cmd("SCRIPT FLUSH NOW"),
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
    );
    assert_eq!(
        c.cmdv(&[b"SCRIPT", b"EXISTS", sha.as_bytes()]),
        R::Array(vec![R::Int(0)])
    );
    assert_err(&c.cmdv(&[b"EVALSHA", sha.as_bytes(), b"0"]), "NOSCRIPT");
    assert_eq!(c.cmd("SCRIPT DEBUG NO"), R::ok());
    assert!(c.cmd("SCRIPT HELP").items().len() > 5);
    assert_eq!(
        c.cmd("SCRIPT KILL"),
        R::Err("NOTBUSY No scripts in execution right now.".into())
    );
    // numkeys checks
    assert_eq!(
        c.cmdv(&[b"EVAL", b"return 1", b"x"]),
        R::Err("ERR value is not an integer or out of range".into())
    );
    assert_eq!(
        c.cmdv(&[b"EVAL", b"return 1", b"2", b"a"]),
        R::Err("ERR Number of keys can't be greater than number of args".into())
    );
    assert_eq!(
        c.cmdv(&[b"EVAL", b"return 1", b"-1"]),
        R::Err("ERR Number of keys can't be negative".into())
    );
}

#[test]
fn errors_carry_the_script_and_line() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let check = |c: &mut Raw, body: &str, want: &str| {
        let got = eval(c, body, &[], &[]);
        let sha = sha1(body);
        assert_eq!(got, R::Err(want.replace("<sha>", &sha)), "script {body:?}");
    };
    check(
        &mut c,
        "return a",
        "ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: <sha>, on @user_script:1.",
    );
    check(
        &mut c,
        "a=10",
        "ERR user_script:1: Attempt to modify a readonly table script: <sha>, on @user_script:1.",
    );
    check(
        &mut c,
        "return redis.call('nosuch')",
        "ERR Unknown command called from script script: <sha>, on @user_script:1.",
    );
    check(
        &mut c,
        "\n\nreturn redis.call('incr')",
        "ERR Wrong number of args calling command from script script: <sha>, on @user_script:3.",
    );
    check(
        &mut c,
        "redis.call('config','get','x')",
        "ERR This Redis command is not allowed from script script: <sha>, on @user_script:1.",
    );
    check(
        &mut c,
        "error('boom')",
        "ERR user_script:1: boom script: <sha>, on @user_script:1.",
    );
    check(
        &mut c,
        "error({err='MY_ERR custom'})",
        "MY_ERR custom script: <sha>, on @user_script:1.",
    );
    check(
        &mut c,
        "local function f() return redis.call('set','a') end\nreturn f()",
        "ERR Wrong number of args calling command from script script: <sha>, on @user_script:1.",
    );
    assert_eq!(
        eval(&mut c, "return +", &[], &[]),
        R::Err(
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'"
                .into()
        )
    );
    assert_eq!(c.cmd("SET foo bar"), R::ok());
    assert_err(
        &eval(&mut c, "redis.call('lpush',KEYS[1],'val')", &["foo"], &[]),
        "WRONGTYPE Operation against a key holding the wrong kind of value script:",
    );
    // pcall hands back the error text
    assert_eq!(
        eval(
            &mut c,
            "local ok, e = pcall(function() return redis.call('nosuch') end) return {tostring(ok), e}",
            &[],
            &[]
        ),
        R::Array(vec![
            R::bulk("false"),
            R::bulk("ERR Unknown command called from script")
        ])
    );
    assert_eq!(
        eval(
            &mut c,
            "local ok, e = pcall(function() return foo end) return e",
            &[],
            &[]
        ),
        R::bulk("user_script:1: Script attempted to access nonexistent global variable 'foo'")
    );
}

#[test]
fn sandbox() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for body in [
        "setmetatable(_G, {})",
        "local g = getmetatable(_G) g.__index = {}",
        "redis = function() return 1 end",
        "_G = {}",
        "redis.call = function() return 1 end",
        "cjson.encode = function() return 1 end",
        "cmsgpack.pack = function() return 1 end",
        "bit.lshift = function() return 1 end",
        "string.upper = nil",
    ] {
        let r = eval(&mut c, body, &[], &[]);
        assert!(
            r.text().contains("Attempt to modify a readonly table"),
            "{body}: {r:?}"
        );
    }
    for f in ["loadfile", "dofile", "print"] {
        let r = eval(&mut c, &format!("{f}('x')"), &[], &[]);
        assert!(
            r.text().contains(&format!(
                "Script attempted to access nonexistent global variable '{f}'"
            )),
            "{r:?}"
        );
    }
    let r = eval(&mut c, "os.execute()", &[], &[]);
    assert!(
        r.text().contains("attempt to call field 'execute'"),
        "{r:?}"
    );
    assert_eq!(
        eval(&mut c, "return type(os.clock())", &[], &[]),
        R::bulk("number")
    );
    let r = eval(
        &mut c,
        "return loadstring(string.dump(function() return 1 end))()",
        &[],
        &[],
    );
    assert!(r.text().contains("attempt to call a nil value"), "{r:?}");
    // locals and local tables stay writable; pairs sees through the proxies
    assert_eq!(
        eval(
            &mut c,
            "local t = {} t.x = 1 local n = 0 for k in pairs(os) do n = n + 1 end return {t.x, n}",
            &[],
            &[]
        ),
        R::Array(vec![R::Int(1), R::Int(1)])
    );
    assert_eq!(
        eval(&mut c, "return redis.sha1hex('')", &[], &[]),
        R::bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        eval(
            &mut c,
            "return {redis.REPL_ALL, redis.LOG_WARNING}",
            &[],
            &[]
        ),
        R::Array(vec![R::Int(3), R::Int(3)])
    );
    assert_eq!(
        eval(
            &mut c,
            "redis.log(redis.LOG_WARNING, 'from a script') return 1",
            &[],
            &[]
        ),
        R::Int(1)
    );
    assert_eq!(
        eval(&mut c, "return redis.replicate_commands()", &[], &[]),
        R::Int(1)
    );
    assert_eq!(
        eval(&mut c, "redis.set_repl(redis.REPL_ALL) return 1", &[], &[]),
        R::Int(1)
    );
    // SELECT inside a script does not change the caller's database
    assert_eq!(
        eval(
            &mut c,
            "redis.call('select', 1) redis.call('set', 'indb1', 'x') return 1",
            &[],
            &[]
        ),
        R::Int(1)
    );
    assert_eq!(c.cmd("EXISTS indb1"), R::Int(0));
    assert_eq!(c.cmd("SELECT 1"), R::ok());
    assert_eq!(c.cmd("EXISTS indb1"), R::Int(1));
}

#[test]
fn libraries() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        eval(&mut c, "return cjson.encode({1,2,{a='x/y'}})", &[], &[]),
        R::bulk("[1,2,{\"a\":\"x\\/y\"}]")
    );
    assert_eq!(
        eval(
            &mut c,
            "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')",
            &[],
            &[]
        ),
        R::bulk("0 -5000 -1 0.0003 1023.2 0")
    );
    assert_eq!(
        eval(
            &mut c,
            "local d = cjson.decode('{\"keya\": \"a\", \"n\": null}') return {d.keya, d.n == cjson.null}",
            &[],
            &[]
        ),
        R::Array(vec![R::bulk("a"), R::Int(1)])
    );
    assert_eq!(
        eval(
            &mut c,
            "return (pcall(cjson.encode, {[false]=1}))",
            &[],
            &[]
        ),
        R::Nil
    );
    assert_eq!(
        eval(&mut c, "return bit.tohex(65535, -2147483648)", &[], &[]),
        R::bulk("0000FFFF")
    );
    assert_eq!(
        eval(
            &mut c,
            "return {bit.band(7, 3), bit.bor(1,2,4), bit.bxor(1,3), bit.lshift(1, 4), bit.tobit(4294967295), bit.bnot(0)}",
            &[],
            &[]
        ),
        R::Array(vec![
            R::Int(3),
            R::Int(7),
            R::Int(2),
            R::Int(16),
            R::Int(-1),
            R::Int(-1)
        ])
    );
    let hex = "local e = X local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h";
    assert_eq!(
        eval(&mut c, &hex.replace('X', "cmsgpack.pack(0.1)"), &[], &[]),
        R::bulk("cb3fb999999999999a")
    );
    assert_eq!(
        eval(
            &mut c,
            &hex.replace('X', "cmsgpack.pack(-1099511627776)"),
            &[],
            &[]
        ),
        R::bulk("d3ffffff0000000000")
    );
    assert_eq!(
        eval(
            &mut c,
            "local t = cmsgpack.unpack(cmsgpack.pack({1, 'two', {x=3}})) return {t[1], t[2], t[3].x}",
            &[],
            &[]
        ),
        R::Array(vec![R::Int(1), R::bulk("two"), R::Int(3)])
    );
}

#[test]
fn struct_library() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        eval(
            &mut c,
            "local s = struct.pack('>i2Bc3', 258, 7, 'abc') local a, b, t, n = struct.unpack('>i2Bc3', s) return {#s, a, b, t, n, struct.size('>i2Bd')}",
            &[],
            &[]
        ),
        R::Array(vec![
            R::Int(6),
            R::Int(258),
            R::Int(7),
            R::bulk("abc"),
            R::Int(7),
            R::Int(11)
        ])
    );
    assert_eq!(
        eval(
            &mut c,
            "return {struct.unpack('<h', struct.pack('<h', -2))}",
            &[],
            &[]
        ),
        R::Array(vec![R::Int(-2), R::Int(3)])
    );
    let r = eval(&mut c, "struct.pack('q', 1)", &[], &[]);
    assert!(r.text().contains("invalid format option 'q'"), "{r:?}");
}

#[test]
fn read_only_scripts() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let r = c.cmdv(&[b"EVAL_RO", b"return redis.call('del', KEYS[1])", b"1", b"k"]);
    assert_err(
        &r,
        "ERR Write commands are not allowed from read-only scripts.",
    );
    assert_eq!(
        c.cmdv(&[b"EVAL_RO", b"return redis.call('get', KEYS[1])", b"1", b"k"]),
        R::Nil
    );
    // a shebang without no-writes may write, but not through *_RO
    assert_eq!(
        c.cmdv(&[
            b"EVAL",
            b"#!lua\nreturn redis.call('set', KEYS[1], 'v')",
            b"1",
            b"k"
        ]),
        R::ok()
    );
    assert_eq!(
        c.cmdv(&[b"EVAL_RO", b"#!lua\nreturn 1", b"0"]),
        R::Err("ERR Can not execute a script with write flag using *_ro command.".into())
    );
    let r = c.cmdv(&[
        b"EVAL",
        b"#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'v')",
        b"1",
        b"k",
    ]);
    assert_err(
        &r,
        "ERR Write commands are not allowed from read-only scripts.",
    );
    assert_err(
        &c.cmdv(&[b"EVAL", b"#!lua badger=data\nreturn 1", b"0"]),
        "ERR Unknown lua shebang option: badger=data",
    );
    assert_err(
        &c.cmdv(&[b"EVAL", b"#!lua flags=allow-oom,what?\nreturn 1", b"0"]),
        "ERR Unexpected flag in script shebang: what?",
    );
    // line numbers count the shebang line
    let body = "#!lua\nreturn a";
    assert_eq!(
        c.cmdv(&[b"EVAL", body.as_bytes(), b"0"]),
        R::Err(format!("ERR user_script:2: Script attempted to access nonexistent global variable 'a' script: {}, on @user_script:2.", sha1(body)))
    );
}

const LIB: &str = "#!lua name=mylib
redis.register_function('getkey', function(keys, args) return redis.call('get', keys[1]) end)
redis.register_function{function_name='setkey', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, description='sets a key'}
redis.register_function{function_name='rokey', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-stale'}}
redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}";

#[test]
fn functions() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmdv(&[b"FUNCTION", b"LOAD", LIB.as_bytes()]),
        R::bulk("mylib")
    );
    assert_eq!(
        c.cmdv(&[b"FUNCTION", b"LOAD", LIB.as_bytes()]),
        R::Err("ERR Library 'mylib' already exists".into())
    );
    assert_eq!(
        c.cmdv(&[b"FUNCTION", b"LOAD", b"REPLACE", LIB.as_bytes()]),
        R::bulk("mylib")
    );
    assert_eq!(c.cmd("FCALL setkey 1 k v"), R::ok());
    assert_eq!(c.cmd("FCALL getkey 1 k"), R::bulk("v"));
    // function names are case-insensitive
    assert_eq!(c.cmd("FCALL GETKEY 1 k"), R::bulk("v"));
    assert_eq!(c.cmd("FCALL_RO rokey 1 k"), R::bulk("v"));
    let quoted = "#!lua name=\"quoted\"\nserver.register_function('q', function() return 1 end)";
    assert_eq!(
        c.cmdv(&[b"FUNCTION", b"LOAD", quoted.as_bytes()]),
        R::bulk("quoted")
    );
    assert_eq!(c.cmd("FUNCTION DELETE quoted"), R::ok());
    assert_err(
        &c.cmd("FUNCTION restore a b c"),
        "ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.",
    );
    assert_err(
        &c.cmd("FCALL_RO setkey 1 k v"),
        "ERR Can not execute a script with write flag using *_ro command.",
    );
    assert_eq!(
        c.cmd("FCALL ro 1 k"),
        R::Err("ERR Write commands are not allowed from read-only scripts. script: ro, on @user_function:5.".into())
    );
    assert_eq!(
        c.cmd("FCALL nosuch 0"),
        R::Err("ERR Function not found".into())
    );
    assert_eq!(
        c.cmd("FCALL getkey x"),
        R::Err("ERR Bad number of keys provided".into())
    );
    let other = "#!lua name=other\nredis.register_function('getkey', function() return 1 end)";
    assert_eq!(
        c.cmdv(&[b"FUNCTION", b"LOAD", other.as_bytes()]),
        R::Err("ERR Function getkey already exists".into())
    );
    for (code, err) in [
        ("return 1", "ERR Missing library metadata"),
        ("#!lua\nreturn 1", "ERR Library name was not given"),
        ("#!lua name=a foo=bar\nreturn 1", "ERR Invalid metadata value given: foo=bar"),
        ("#!lua name=x\nreturn 1", "ERR No functions registered"),
        ("#!nolua name=x\nreturn 1", "ERR Engine 'nolua' not found"),
        (
            "#!lua name=x\nredis.call('ping')",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'",
        ),
        (
            "#!lua name=x\nredis.register_function('a')",
            "ERR Error registering functions: ERR calling server.register_function with a single argument is only applicable to Lua table (representing named arguments).",
        ),
    ] {
        assert_eq!(
            c.cmdv(&[b"FUNCTION", b"LOAD", code.as_bytes()]),
            R::Err(err.into()),
            "{code}"
        );
    }
    let list = c.cmd("FUNCTION LIST WITHCODE");
    let libs = list.items();
    assert_eq!(libs.len(), 1);
    let lib = libs[0].items();
    assert_eq!(lib[1], R::bulk("mylib"));
    assert_eq!(lib[3], R::bulk("LUA"));
    assert_eq!(lib[5].items().len(), 4);
    assert_eq!(lib[7], R::bulk(LIB));
    assert_eq!(
        c.cmd("FUNCTION LIST LIBRARYNAME nomatch*"),
        R::Array(vec![])
    );
    let stats = c.cmd("FUNCTION STATS").items();
    assert_eq!(stats[0], R::bulk("running_script"));
    assert_eq!(stats[1], R::Nil);
    assert_eq!(
        c.cmd("FUNCTION KILL"),
        R::Err("NOTBUSY No scripts in execution right now.".into())
    );
    assert!(c.cmd("FUNCTION HELP").items().len() > 10);

    let dump = match c.cmd("FUNCTION DUMP") {
        R::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.cmd("FUNCTION FLUSH"), R::ok());
    assert_eq!(
        c.cmd("FCALL getkey 1 k"),
        R::Err("ERR Function not found".into())
    );
    assert_eq!(c.cmdv(&[b"FUNCTION", b"RESTORE", &dump]), R::ok());
    assert_eq!(c.cmd("FCALL getkey 1 k"), R::bulk("v"));
    assert_eq!(
        c.cmdv(&[b"FUNCTION", b"RESTORE", &dump]),
        R::Err("ERR Library mylib already exists".into())
    );
    assert_eq!(
        c.cmdv(&[b"FUNCTION", b"RESTORE", &dump, b"REPLACE"]),
        R::ok()
    );
    assert_eq!(c.cmdv(&[b"FUNCTION", b"RESTORE", &dump, b"FLUSH"]), R::ok());
    assert_err(
        &c.cmdv(&[b"FUNCTION", b"RESTORE", b"garbage"]),
        "ERR DUMP payload version or checksum are wrong",
    );
    assert_eq!(c.cmd("FUNCTION DELETE mylib"), R::ok());
    assert_eq!(
        c.cmd("FUNCTION DELETE mylib"),
        R::Err("ERR Library not found".into())
    );
    assert_eq!(c.cmd("FUNCTION FLUSH SYNC"), R::ok());
}

/// The classic rate limiter: whatever the interleaving of 50 connections, exactly
/// `limit` requests of a window get through, because each script runs atomically.
#[test]
fn rate_limit_is_exact_under_concurrency() {
    let s = TestServer::start(&[]);
    let script = "local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end if c > tonumber(ARGV[1]) then return 0 end return 1";
    let port = s.port;
    let limit = 137;
    let threads: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut allowed = 0;
                for _ in 0..10 {
                    match eval(&mut c, script, &["rl:user"], &[&limit.to_string(), "100"]) {
                        R::Int(1) => allowed += 1,
                        R::Int(0) => {}
                        other => panic!("unexpected {other:?}"),
                    }
                }
                allowed
            })
        })
        .collect();
    let total: i64 = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    assert_eq!(total, limit);
    let mut c = s.raw();
    assert_eq!(c.cmd("GET rl:user"), R::bulk("500"));
    match c.cmd("TTL rl:user") {
        R::Int(t) => assert!((1..=100).contains(&t), "ttl {t}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn info_counts_cached_scripts() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(eval(&mut c, "return 1", &[], &[]), R::Int(1));
    assert_eq!(eval(&mut c, "return 2", &[], &[]), R::Int(2));
    let info = c.cmd("INFO memory").text();
    assert!(info.contains("number_of_cached_scripts:2"), "{info}");
}

/// Sends an inline command and waits up to `wait` for a one-line reply.
fn inline(s: &mut std::net::TcpStream, line: &str, wait: Duration) -> Option<String> {
    use std::io::Write;
    s.write_all(format!("{line}\r\n").as_bytes()).ok()?;
    read_line(s, wait)
}

fn read_line(s: &mut std::net::TcpStream, wait: Duration) -> Option<String> {
    use std::io::Read;
    s.set_read_timeout(Some(wait)).ok()?;
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n") {
        match s.read(&mut b) {
            Ok(1) => buf.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&buf[..buf.len() - 2]).into_owned())
}

/// Connections opened while a script runs: every one of them answers (the script
/// runs off the worker threads), BUSY once the script is past the threshold.
fn busy_probe(port: u16) -> (std::net::TcpStream, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut probes: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    while Instant::now() < deadline {
        let mut replies = Vec::new();
        for p in probes.iter_mut() {
            replies
                .push(inline(p, "PING", Duration::from_secs(5)).expect("every connection answers"));
        }
        if replies.iter().all(|r| r.starts_with("-BUSY")) {
            let r = replies.swap_remove(0);
            return (probes.swap_remove(0), r);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the script never became busy");
}

#[test]
fn busy_script_can_be_killed() {
    let mut s = TestServer::start(&["--busy-reply-threshold", "50"]);
    let mut runner = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    use std::io::Write;
    runner
        .write_all(b"EVAL \"while true do end\" 0\r\n")
        .expect("write");
    let (mut probe, busy) = busy_probe(s.port);
    assert_eq!(
        busy,
        "-BUSY Valkey is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    let stats = inline(&mut probe, "FUNCTION STATS", Duration::from_secs(5));
    assert!(stats.is_some_and(|r| r.starts_with("-BUSY")));
    assert_eq!(
        inline(&mut probe, "FUNCTION KILL", Duration::from_secs(5)).as_deref(),
        Some("-BUSY Valkey is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    );
    assert_eq!(
        inline(&mut probe, "SCRIPT KILL", Duration::from_secs(5)).as_deref(),
        Some("+OK")
    );
    let killed = read_line(&mut runner, Duration::from_secs(5)).expect("script reply");
    assert!(
        killed.starts_with("-ERR Script killed by user with SCRIPT KILL."),
        "{killed}"
    );
    assert_eq!(
        inline(&mut probe, "PING", Duration::from_secs(5)).as_deref(),
        Some("+PONG")
    );

    // a script that wrote cannot be killed; SHUTDOWN NOSAVE still stops the server
    runner
        .write_all(b"EVAL \"redis.call('set','x','y') while true do end\" 0\r\n")
        .expect("write");
    let (mut probe, _) = busy_probe(s.port);
    let r = inline(&mut probe, "SCRIPT KILL", Duration::from_secs(5)).expect("reply");
    assert!(
        r.starts_with("-UNKILLABLE Sorry the script already executed write commands"),
        "{r}"
    );
    let _ = inline(&mut probe, "SHUTDOWN NOSAVE", Duration::from_secs(2));
    assert!(s.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn a_command_error_is_counted_once() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("CONFIG RESETSTAT"), R::ok());
    assert_err(
        &eval(&mut c, "return redis.call('select', 99)", &[], &[]),
        "ERR DB index is out of range script:",
    );
    let errs = c.cmd("INFO errorstats").text();
    assert!(errs.contains("errorstat_ERR:count=1"), "{errs}");
    let stats = c.cmd("INFO stats").text();
    assert!(stats.contains("total_error_replies:1\r\n"), "{stats}");
    let cmds = c.cmd("INFO commandstats").text();
    assert!(
        cmds.contains("cmdstat_eval:calls=1,") && cmds.contains("failed_calls=1"),
        "{cmds}"
    );
    // an error object returned from pcall is the reply, still counted once
    assert_eq!(c.cmd("CONFIG RESETSTAT"), R::ok());
    assert_err(
        &eval(&mut c, "return redis.pcall('select', 99)", &[], &[]),
        "ERR DB index is out of range",
    );
    let stats = c.cmd("INFO stats").text();
    assert!(stats.contains("total_error_replies:1\r\n"), "{stats}");
    // an error the script makes up is counted as the script's
    assert_eq!(c.cmd("CONFIG RESETSTAT"), R::ok());
    assert_err(
        &eval(
            &mut c,
            "return redis.error_reply('MY_ERR_CODE custom msg')",
            &[],
            &[],
        ),
        "MY_ERR_CODE custom msg",
    );
    let errs = c.cmd("INFO errorstats").text();
    assert!(errs.contains("errorstat_MY_ERR_CODE:count=1"), "{errs}");
}

#[test]
fn scripts_run_as_the_callers_acl_user() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmdv(&[
            b"ACL",
            b"SETUSER",
            b"bob",
            b"on",
            b">123",
            b"+@scripting",
            b"+set",
            b"~x*"
        ]),
        R::ok()
    );
    assert_eq!(c.cmd("AUTH bob 123"), R::ok());
    assert_eq!(
        eval(
            &mut c,
            "return redis.acl_check_cmd('set','xx',1)",
            &["xx"],
            &[]
        ),
        R::Int(1)
    );
    assert_eq!(
        eval(
            &mut c,
            "return redis.acl_check_cmd('hset','xx','f',1)",
            &["xx"],
            &[]
        ),
        R::Nil
    );
    assert_eq!(
        eval(&mut c, "return redis.acl_check_cmd('set','yy',1)", &[], &[]),
        R::Nil
    );
    let body = "return redis.call('hset','xx','f',1)";
    assert_eq!(
        eval(&mut c, body, &[], &[]),
        R::Err(format!("ERR ACL failure in script: User bob has no permissions to run the 'hset' command script: {}, on @user_script:1.", sha1(body)))
    );
    assert_err(
        &eval(&mut c, "return redis.acl_check_cmd('nosuch')", &[], &[]),
        "ERR Invalid command passed to server.acl_check_cmd() script:",
    );
}

/// `name=value` fields of a CLIENT INFO line.
fn client_field(line: &R, name: &str) -> String {
    line.text()
        .split_whitespace()
        .find_map(|f| f.strip_prefix(&format!("{name}=")).map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn script_commands_run_as_the_caller() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("CLIENT SETNAME test-client"), R::ok());
    // the script's own commands count in the caller's tot-cmds: EVAL, PING, CLIENT INFO
    let before: i64 = client_field(&c.cmd("CLIENT INFO"), "tot-cmds")
        .parse()
        .unwrap();
    assert_eq!(eval(&mut c, "server.call('ping')", &[], &[]), R::Nil);
    let after = c.cmd("CLIENT INFO");
    assert_eq!(
        client_field(&after, "tot-cmds").parse::<i64>().unwrap(),
        before + 3
    );
    // and the commandlog shows them with the caller's address and name
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 0"), R::ok());
    assert_eq!(c.cmd("SLOWLOG RESET"), R::ok());
    assert_eq!(eval(&mut c, "server.call('ping')", &[], &[]), R::Nil);
    let log = c.cmd("SLOWLOG GET 2").items();
    assert_eq!(log.len(), 2);
    let (script, ping) = (log[0].items(), log[1].items());
    assert_eq!(
        script[3],
        R::Array(vec![
            R::bulk("EVAL"),
            R::bulk("server.call('ping')"),
            R::bulk("0")
        ])
    );
    assert_eq!(ping[3], R::Array(vec![R::bulk("ping")]));
    assert_eq!(script[4], ping[4]);
    assert_eq!(ping[4], R::bulk(&client_field(&after, "addr")));
    assert_eq!(ping[5], R::bulk("test-client"));
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 10000"), R::ok());
    // a SELECT inside the script leaves the caller in its database
    assert_eq!(eval(&mut c, "server.call('select', 5)", &[], &[]), R::Nil);
    assert_eq!(client_field(&c.cmd("CLIENT INFO"), "db"), "0");
    // MONITOR shows the script, then its commands as coming from "lua"
    let mut m = s.raw();
    assert_eq!(m.cmd("MONITOR"), R::ok());
    assert_eq!(
        eval(
            &mut c,
            "redis.call('set',KEYS[1],ARGV[1])",
            &["foo"],
            &["bar"]
        ),
        R::Nil
    );
    let first = m.read().text();
    assert!(first.contains("\"EVAL\""), "{first}");
    let second = m.read().text();
    assert!(
        second.contains("[0 lua] \"set\" \"foo\" \"bar\""),
        "{second}"
    );
}

#[test]
fn script_commands_are_movablekeys() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for cmd in [
        "eval",
        "evalsha",
        "eval_ro",
        "evalsha_ro",
        "fcall",
        "fcall_ro",
    ] {
        let info = c.cmd(&format!("COMMAND INFO {cmd}")).items();
        let flags = info[0].items()[2].items();
        assert!(
            flags.contains(&R::Simple("movablekeys".into())),
            "{cmd}: {flags:?}"
        );
    }
    // their keys follow the count, which may be 0
    assert_eq!(
        c.cmd("COMMAND GETKEYS eval x 2 a b c"),
        R::Array(vec![R::bulk("a"), R::bulk("b")])
    );
    assert_eq!(c.cmd("COMMAND GETKEYS eval x 0"), R::Array(vec![]));
}
