//! Every command of the table, with arbitrary arguments, through the real dispatcher:
//! no input may panic, and none may take more than a moment (libFuzzer's -timeout).
//!
//! An input is a short session against one fresh in-process server whose keyspace
//! holds a key of every type (small and large encodings): up to 8 commands, each a
//! table entry picked by index (and a subcommand of it), with arguments biased towards
//! the values parsers get wrong: number edge cases, option words harvested from the
//! sources, existing keys of each type, patterns, lexical and score ranges.
//!
//! `scripts/fuzz.sh` runs it; by hand, from the repository root:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none commands fuzz/corpus/commands`.
#![no_main]

use ferrokey::commands::table;
use ferrokey::commands::Command;
use ferrokey::harness::Harness;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/words.rs"));

/// The keys every session starts with, one per type and encoding; "missing" never exists.
const KEYS: &[&str] = &[
    "str", "num", "flt", "bits", "list", "biglist", "hash", "bighash", "set", "iset", "bigset",
    "zset", "lex", "bigzset", "geo", "ttl", "missing",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "5",
    "10",
    "100",
    "-100",
    "1000",
    "65535",
    "65536",
    "2147483647",
    "-2147483648",
    "2147483648",
    "4294967295",
    "4294967296",
    "536870911",
    "536870912",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "99999999999999999999",
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "+inf",
    "infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "1e308",
    "1.7976931348623157e308",
    "4.9e-324",
    "-0",
    "+0",
    "0.0",
    "-0.0",
    "0.5",
    "1.5",
    "-1.5",
    "3.0e2",
    "1e3",
    "0x10",
    "010",
    " 1",
    "1 ",
    "1.",
    ".5",
    "+1",
    "--1",
    "1e",
    "",
    " ",
    "(1",
    "(-1",
    "(inf",
    "(-inf",
    "(nan",
    "[a",
    "(a",
    "[",
    "(",
    "-",
    "+",
    "*",
    "?",
    "\\",
    "a*",
    "*a*",
    "h?llo",
    "h[^e]llo",
    "[a-",
    "[\\",
    "0-0",
    "1-1",
    "$",
    ">",
    "~",
    "%",
    "\0",
    "\u{80}",
];

/// Bodies for EVAL, SCRIPT LOAD and FUNCTION LOAD. Arbitrary Lua can legitimately loop
/// forever (only SCRIPT KILL from another client ends it), so scripts come from this
/// list; they reach the scripting path's own parsers with fuzzed arguments.
const SCRIPTS: &[&str] = &[
    "return redis.pcall(unpack(ARGV))",
    "return redis.call(ARGV[1] or 'ping', KEYS[1] or 'str', ARGV[2])",
    "return {KEYS[1], ARGV[1], 1, 2.5, true, false, {err='x'}, {ok='y'}, {double=ARGV[1]}}",
    "return redis.status_reply(ARGV[1] or 'x')",
    "return redis.error_reply(ARGV[1] or 'x')",
    "return cjson.encode(cjson.decode(ARGV[1] or '[]'))",
    "return cmsgpack.pack(cmsgpack.unpack(ARGV[1] or ''))",
    "return {struct.unpack(ARGV[1] or 'i', ARGV[2] or '\\0\\0\\0\\0')}",
    "return struct.pack(ARGV[1] or 'i', tonumber(ARGV[2]) or 0)",
    "return bit.tohex(tonumber(ARGV[1]) or 0, tonumber(ARGV[2]) or 8)",
    "redis.setresp(tonumber(ARGV[1]) or 2); return redis.call('hgetall', KEYS[1] or 'hash')",
    "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1] or 'str')",
    "#!lua name=lib\nserver.register_function('f', function(keys, args) return server.pcall(args[1] or 'ping', keys[1]) end)",
    "#!lua name=lib2\nserver.register_function{function_name='g', callback=function(k, a) return #k end, flags={'no-writes'}}",
];

/// Commands an input may not run, with why: they end or replace the process, or
/// start background work that outlives the input.
fn skipped(args: &[Vec<u8>]) -> bool {
    let name = args[0].to_ascii_lowercase();
    let sub = args
        .get(1)
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    match name.as_slice() {
        // ends the process
        b"shutdown" => true,
        // write files in the working directory (background ones outlive the input)
        b"save" | b"bgsave" | b"bgrewriteaof" => true,
        // DEBUG RELOAD/LOADAOF replace the dataset from disk; AOF-FLUSH-SLEEP slows
        // every later write on purpose; POPULATE of millions of keys is a legitimate
        // memory hog
        b"debug" => match sub.as_slice() {
            b"reload" | b"loadaof" | b"aof-flush-sleep" => true,
            b"populate" => args
                .get(2)
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<i64>().ok())
                .is_none_or(|n| n > 10_000),
            _ => false,
        },
        // directives that reach outside the process (files, sockets, the AOF)
        b"config" if sub == b"set" => args[2..].iter().any(|a| {
            let a = a.to_ascii_lowercase();
            [
                "dir",
                "dbfilename",
                "appendonly",
                "appendfilename",
                "appenddirname",
                "appendfsync",
                "port",
                "tls-port",
                "bind",
                "unixsocket",
                "unixsocketperm",
                "logfile",
                "pidfile",
                "syslog-enabled",
                "daemonize",
                "oom-score-adj",
                "oom-score-adj-values",
                "aclfile",
                "save",
                "io-threads",
            ]
            .iter()
            .any(|d| a == d.as_bytes())
        }),
        _ => false,
    }
}

fn setup(h: &mut Harness) {
    let mut run = |line: Vec<String>| {
        let args: Vec<&[u8]> = line.iter().map(|s| s.as_bytes()).collect();
        h.run(&args);
    };
    let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    run(w("SET str hello"));
    run(w("SET num 42"));
    run(w("SET flt 3.5"));
    run(w("SETBIT bits 100 1"));
    run(w("RPUSH list a b c 1 2 3"));
    run(w("HSET hash f1 v1 f2 2 f3 1.5"));
    run(w("SADD set a b c d"));
    run(w("SADD iset 1 2 3 -5"));
    run(w("ZADD zset 1 a 2 b 3 c -inf m +inf n"));
    run(w("ZADD lex 0 a 0 b 0 c 0 d"));
    run(w(
        "GEOADD geo 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
    ));
    run(w("SET ttl v PX 100000"));
    let many = |cmd: &str, key: &str, pairs: bool| {
        let mut v = w(cmd);
        v.push(key.into());
        for i in 0..20 {
            if pairs {
                v.push(i.to_string());
            }
            v.push(format!("m{i}"));
        }
        v
    };
    run(many("RPUSH", "biglist", false));
    run(many("HSET", "bighash", true));
    run(many("SADD", "bigset", false));
    run(many("ZADD", "bigzset", true));
}

/// DUMP payloads of the setup keys, one per type and encoding: RESTORE gets one of
/// them with a few bytes changed and the checksum made right again, so the payload
/// reaches the value decoder instead of stopping at the checksum.
fn dumps(h: &mut Harness) -> &'static [Vec<u8>] {
    static DUMPS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    DUMPS.get_or_init(|| {
        let mut v = Vec::new();
        for k in KEYS {
            let r = h.run(&[b"DUMP", k.as_bytes()]);
            // $len\r\npayload\r\n
            let Some(nl) = r.iter().position(|&b| b == b'\n') else {
                continue;
            };
            if r[0] == b'$' && r.len() > nl + 3 {
                v.push(r[nl + 1..r.len() - 2].to_vec());
            }
        }
        v
    })
}

fn payload(u: &mut Unstructured, dumps: &[Vec<u8>]) -> Result<Vec<u8>> {
    let base = &dumps[u.choose_index(dumps.len())?];
    let Some(footer) = base.len().checked_sub(10) else {
        return Ok(base.clone());
    };
    let mut body = base[..footer].to_vec();
    for _ in 0..u.int_in_range(0..=4u8)? {
        match u.int_in_range(0..=7u8)? {
            0..=2 if !body.is_empty() => {
                let i = u.choose_index(body.len())?;
                body[i] = u.arbitrary()?;
            }
            3 | 4 => {
                let i = u.int_in_range(0..=body.len())?;
                body.insert(i, u.arbitrary()?);
            }
            5 | 6 if !body.is_empty() => {
                let i = u.choose_index(body.len())?;
                body.remove(i);
            }
            _ => {
                let i = u.int_in_range(0..=body.len())?;
                body.truncate(i);
            }
        }
    }
    body.extend_from_slice(&base[footer..footer + 2]);
    let crc = ferrokey::store::dump::crc64(0, &body);
    body.extend_from_slice(&crc.to_le_bytes());
    Ok(body)
}

fn pick<'a>(u: &mut Unstructured, from: &[&'a str]) -> Result<&'a str> {
    Ok(from[u.choose_index(from.len())?])
}

fn arg(u: &mut Unstructured, cmd: &Command, key_slot: bool) -> Result<Vec<u8>> {
    if key_slot && u.ratio(3, 4)? {
        return Ok(pick(u, KEYS)?.as_bytes().to_vec());
    }
    Ok(match u.int_in_range(0..=9u8)? {
        0 | 1 => pick(u, NUMBERS)?.as_bytes().to_vec(),
        2..=4 => {
            let w = pick(u, WORDS)?;
            if u.ratio(1, 2)? {
                w.to_ascii_uppercase().into_bytes()
            } else {
                w.as_bytes().to_vec()
            }
        }
        5 => pick(u, KEYS)?.as_bytes().to_vec(),
        6 => i64::from(u.int_in_range(-3..=20i8)?)
            .to_string()
            .into_bytes(),
        7 if !cmd.subcommands.is_empty() => {
            let s = &cmd.subcommands[u.choose_index(cmd.subcommands.len())?];
            s.name.as_bytes().to_vec()
        }
        8 => {
            let k = u.int_in_range(0..=3u8)?;
            format!("m{}", u.int_in_range(0..=20u8)? as u32 + u32::from(k)).into_bytes()
        }
        _ => {
            let n = u.int_in_range(0..=16usize)?;
            u.bytes(n)?.to_vec()
        }
    })
}

/// One command line: a table entry, its subcommand, then arguments of a plausible count.
fn command(u: &mut Unstructured, dumps: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    let all = table::commands();
    let top: &Command = all[u.choose_index(all.len())?];
    let mut args = vec![top.name.as_bytes().to_vec()];
    let mut cmd = top;
    if !top.subcommands.is_empty() && !u.ratio(1, 20)? {
        cmd = &top.subcommands[u.choose_index(top.subcommands.len())?];
        args.push(cmd.name.as_bytes().to_vec());
    }
    let min = (cmd.arity.unsigned_abs() as usize).max(args.len());
    let argc = if u.ratio(1, 8)? {
        u.int_in_range(args.len()..=12)?
    } else if cmd.arity > 0 {
        min
    } else {
        min + u.int_in_range(0..=6usize)?
    };
    let keys = cmd.key_positions(argc);
    // where a script body goes: EVAL script ..., SCRIPT LOAD script, FUNCTION LOAD
    // [REPLACE] code
    let script_at = match (top.name, cmd.name) {
        ("eval" | "eval_ro", _) => Some(1),
        ("script", "load") => Some(2),
        ("function", "load") => Some(argc.saturating_sub(1)),
        _ => None,
    };
    while args.len() < argc {
        let i = args.len();
        if script_at == Some(i) {
            args.push(pick(u, SCRIPTS)?.as_bytes().to_vec());
            continue;
        }
        if top.name == "restore" && i == 3 && !dumps.is_empty() && u.ratio(7, 8)? {
            args.push(payload(u, dumps)?);
            continue;
        }
        args.push(arg(u, cmd, keys.contains(&i))?);
    }
    Ok(args)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(mut h) = Harness::new(
        // small encoding limits: the big encodings with few elements (inputs stay fast)
        "enable-debug-command yes\nenable-protected-configs yes\nproto-max-bulk-len 1mb\n\
         save \"\"\nhash-max-listpack-entries 8\nset-max-listpack-entries 8\n\
         set-max-intset-entries 8\nzset-max-listpack-entries 8\nlist-max-listpack-size 4\n",
    ) else {
        panic!("the harness config was refused");
    };
    setup(&mut h);
    let dumps = dumps(&mut h);
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    if u.ratio(1, 4).unwrap_or(false) {
        h.run(&[b"HELLO", b"3"]);
    }
    for _ in 0..8 {
        if u.is_empty() {
            break;
        }
        let Ok(args) = command(&mut u, dumps) else {
            break;
        };
        if skipped(&args) {
            continue;
        }
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let reply = h.run(&argv);
        if trace {
            // FUZZ_TRACE=1 when replaying an input: what ran and what it answered
            let show = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned();
            let line: Vec<String> = args.iter().map(|a| format!("{:?}", show(a))).collect();
            eprintln!("> {}\n< {:?}", line.join(" "), show(reply));
        }
        // one well-formed reply per command (none when replies are off)
        assert!(
            reply.is_empty()
                || matches!(
                    reply[0],
                    b'+' | b'-'
                        | b':'
                        | b'$'
                        | b'*'
                        | b'_'
                        | b','
                        | b'#'
                        | b'!'
                        | b'='
                        | b'('
                        | b'%'
                        | b'~'
                        | b'>'
                        | b'|'
                )
        );
        assert!(reply.is_empty() || reply.ends_with(b"\r\n"));
    }
});
