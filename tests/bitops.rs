//! Bitmap commands, following Valkey's tests/unit/bitops.tcl and bitfield.tcl.
mod common;
use common::*;
use rand::{Rng, SeedableRng};

fn ints(v: &[i64]) -> R {
    R::Array(v.iter().map(|&n| R::Int(n)).collect())
}

fn set(c: &mut Raw, key: &str, val: &[u8]) {
    assert_eq!(c.cmdv(&[b"SET", key.as_bytes(), val]), R::ok());
}

fn get(c: &mut Raw, key: &str) -> R {
    c.cmdv(&[b"GET", key.as_bytes()])
}

/// Creates a non-string key if the server has a command for one yet.
fn make_list(c: &mut Raw, key: &str) -> bool {
    !c.cmd(&format!("LPUSH {key} a b c")).is_err()
}

fn count_ones(s: &[u8]) -> i64 {
    s.iter().map(|b| b.count_ones() as i64).sum()
}

fn bit(s: &[u8], i: usize) -> bool {
    s[i / 8] & (0x80 >> (i % 8)) != 0
}

fn count_bits_range(s: &[u8], a: usize, b: usize) -> i64 {
    (a..=b).filter(|&i| bit(s, i)).count() as i64
}

const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

#[test]
fn setbit_and_getbit() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("SETBIT k 7 1"), R::Int(0));
    assert_eq!(c.cmd("SETBIT k 7 1"), R::Int(1));
    assert_eq!(get(&mut c, "k"), R::Bulk(vec![1]));
    assert_eq!(c.cmd("SETBIT k 0 1"), R::Int(0));
    assert_eq!(c.cmd("SETBIT k 7 0"), R::Int(1));
    assert_eq!(get(&mut c, "k"), R::Bulk(vec![0x80]));
    // growing pads with zero bytes
    assert_eq!(c.cmd("SETBIT k 33 1"), R::Int(0));
    assert_eq!(get(&mut c, "k"), R::Bulk(vec![0x80, 0, 0, 0, 0x40]));
    assert_eq!(c.cmd("GETBIT k 0"), R::Int(1));
    assert_eq!(c.cmd("GETBIT k 1"), R::Int(0));
    assert_eq!(c.cmd("GETBIT k 33"), R::Int(1));
    assert_eq!(c.cmd("GETBIT k 100000"), R::Int(0));
    assert_eq!(c.cmd("GETBIT nokey 0"), R::Int(0));
    // SETBIT works on strings written by SET, including numeric ones
    set(&mut c, "n", b"1");
    assert_eq!(c.cmd("GETBIT n 7"), R::Int(1));
    assert_eq!(c.cmd("SETBIT n 6 1"), R::Int(0));
    assert_eq!(get(&mut c, "n"), R::bulk("3"));
    // the key's TTL survives an in-place edit
    assert_eq!(c.cmd("SET t x EX 100"), R::ok());
    assert_eq!(c.cmd("SETBIT t 100 1"), R::Int(0));
    assert_eq!(c.cmd("GETBIT t 100"), R::Int(1));
}

#[test]
fn setbit_getbit_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for cmd in [
        "SETBIT k -1 1",
        "SETBIT k abc 1",
        "SETBIT k 01 1",
        "SETBIT k 4294967296 1",
    ] {
        assert_eq!(c.cmd(cmd), R::Err(OFFSET_ERR.into()), "{cmd}");
    }
    for cmd in ["GETBIT k -1", "GETBIT k x", "GETBIT k 4294967296"] {
        assert_eq!(c.cmd(cmd), R::Err(OFFSET_ERR.into()), "{cmd}");
    }
    for cmd in [
        "SETBIT k 1 2",
        "SETBIT k 1 -1",
        "SETBIT k 1 x",
        "SETBIT k 1 01",
    ] {
        assert_eq!(
            c.cmd(cmd),
            R::Err("ERR bit is not an integer or out of range".into()),
            "{cmd}"
        );
    }
    // the offset is checked before the value
    assert_eq!(c.cmd("SETBIT k x y"), R::Err(OFFSET_ERR.into()));
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    assert_eq!(
        c.cmd("SETBIT k 1"),
        R::Err("ERR wrong number of arguments for 'setbit' command".into())
    );
    assert_eq!(
        c.cmd("GETBIT k"),
        R::Err("ERR wrong number of arguments for 'getbit' command".into())
    );
}

#[test]
fn offsets_are_bounded_by_proto_max_bulk_len() {
    let s = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    let limit_bits = 1024 * 1024 * 8;
    assert_eq!(
        c.cmd(&format!("SETBIT k {limit_bits} 1")),
        R::Err(OFFSET_ERR.into())
    );
    assert_eq!(
        c.cmd(&format!("GETBIT k {limit_bits}")),
        R::Err(OFFSET_ERR.into())
    );
    assert_eq!(
        c.cmd(&format!("BITFIELD k SET u8 {} 1", limit_bits)),
        R::Err(OFFSET_ERR.into())
    );
    assert_eq!(
        c.cmd("BITFIELD k GET u8 #1048576"),
        R::Err(OFFSET_ERR.into())
    );
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    assert_eq!(c.cmd(&format!("SETBIT k {} 1", limit_bits - 1)), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT k"), R::Int(1));
    assert_eq!(c.cmd("BITPOS k 1"), R::Int(limit_bits - 1));
}

#[test]
fn wrong_type() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    if !make_list(&mut c, "l") {
        return; // no non-string type exists yet
    }
    let wt = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for cmd in [
        "SETBIT l 0 1",
        "GETBIT l 0",
        "BITCOUNT l",
        "BITCOUNT l 0 100",
        "BITCOUNT l -6 -7",
        "BITCOUNT l -6 -15 bit",
        "BITPOS l 0",
        "BITPOS l 1 10 100",
        "BITOP and d l",
        "BITFIELD l GET u8 0",
        "BITFIELD l SET u8 0 1",
        "BITFIELD_RO l GET u8 0",
    ] {
        assert_eq!(c.cmd(cmd), R::Err(wt.into()), "{cmd}");
    }
    set(&mut c, "a", b"1");
    assert_eq!(c.cmd("BITOP xor d a l nokey"), R::Err(wt.into()));
    assert_eq!(c.cmd("EXISTS d"), R::Int(0));
    // argument errors come before the type check
    assert_err(&c.cmd("BITCOUNT l a b"), "ERR value is not an integer");
    assert_err(&c.cmd("BITPOS l a"), "ERR value is not an integer");
    assert_eq!(
        c.cmd("BITFIELD_RO l SET u8 0 1"),
        R::Err("ERR BITFIELD_RO only supports the GET subcommand".into())
    );
}

#[test]
fn bitcount_vectors_and_fuzz() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for v in [&b""[..], b"\xaa", b"\x00\x00\xff", b"foobar", b"123"] {
        set(&mut c, "str", v);
        assert_eq!(c.cmd("BITCOUNT str"), R::Int(count_ones(v)));
        assert_eq!(c.cmd("BITCOUNT str 0 -1 bit"), R::Int(count_ones(v)));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..100 {
        let len = rng.gen_range(0..3000);
        let v: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        set(&mut c, "str", &v);
        assert_eq!(c.cmd("BITCOUNT str"), R::Int(count_ones(&v)));
        if len == 0 {
            continue;
        }
        let (mut a, mut b) = (rng.gen_range(0..len), rng.gen_range(0..len));
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        assert_eq!(
            c.cmd(&format!("BITCOUNT str {a} {b}")),
            R::Int(count_ones(&v[a..=b]))
        );
        let (mut a, mut b) = (rng.gen_range(0..len * 8), rng.gen_range(0..len * 8));
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        assert_eq!(
            c.cmd(&format!("BITCOUNT str {a} {b} bit")),
            R::Int(count_bits_range(&v, a, b))
        );
    }
}

#[test]
fn bitcount_ranges() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("BITCOUNT no-key"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT no-key 0 1000 bit"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT no-key -6 -7"), R::Int(0));
    set(&mut c, "str", b"xxxx");
    assert_eq!(c.cmd("BITCOUNT str 4 10"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT str 32 87 bit"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT str -6 -7"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT str -6 -15 bit"), R::Int(0));

    let s = b"foobar";
    let cb = |a: usize, b: usize| R::Int(count_bits_range(s, a, b));
    set(&mut c, "s", s);
    assert_eq!(c.cmd("BITCOUNT s 0"), R::Int(count_ones(b"foobar")));
    assert_eq!(c.cmd("BITCOUNT s 1"), R::Int(count_ones(b"oobar")));
    assert_eq!(c.cmd("BITCOUNT s 1000"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT s -1"), R::Int(count_ones(b"r")));
    assert_eq!(c.cmd("BITCOUNT s -2"), R::Int(count_ones(b"ar")));
    assert_eq!(c.cmd("BITCOUNT s -1000"), R::Int(count_ones(b"foobar")));
    assert_eq!(c.cmd("BITCOUNT s 0 -1"), R::Int(count_ones(b"foobar")));
    assert_eq!(c.cmd("BITCOUNT s 1 -2"), R::Int(count_ones(b"ooba")));
    assert_eq!(c.cmd("BITCOUNT s -2 1"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT s -1000 0"), R::Int(count_ones(b"f")));
    assert_eq!(c.cmd("BITCOUNT s 0 1000"), R::Int(count_ones(b"foobar")));
    assert_eq!(
        c.cmd("BITCOUNT s -1000 1000"),
        R::Int(count_ones(b"foobar"))
    );
    assert_eq!(c.cmd("BITCOUNT s 0 1 BYTE"), R::Int(count_ones(b"fo")));
    assert_eq!(c.cmd("BITCOUNT s 0 -1 bit"), R::Int(count_ones(s)));
    assert_eq!(c.cmd("BITCOUNT s 10 14 bit"), cb(10, 14));
    assert_eq!(c.cmd("BITCOUNT s 3 14 bit"), cb(3, 14));
    assert_eq!(c.cmd("BITCOUNT s 3 29 bit"), cb(3, 29));
    assert_eq!(c.cmd("BITCOUNT s 10 -34 bit"), cb(10, 14));
    assert_eq!(c.cmd("BITCOUNT s 3 -34 bit"), cb(3, 14));
    assert_eq!(c.cmd("BITCOUNT s 3 -19 bit"), cb(3, 29));
    assert_eq!(c.cmd("BITCOUNT s -2 1 bit"), R::Int(0));
    assert_eq!(c.cmd("BITCOUNT s -1000 14 bit"), cb(0, 14));
    assert_eq!(c.cmd("BITCOUNT s 0 1000 bit"), R::Int(count_ones(s)));
    assert_eq!(c.cmd("BITCOUNT s -1000 1000 bit"), R::Int(count_ones(s)));
    assert_eq!(c.cmd("BITCOUNT s 0 4294967296"), R::Int(count_ones(s)));
    assert_eq!(
        c.cmd("BITCOUNT s -9223372036854775808 9223372036854775807 bit"),
        R::Int(count_ones(s))
    );

    set(&mut c, "str", b"ab");
    assert_eq!(c.cmd("BITCOUNT str 1 -1"), R::Int(3));
    set(&mut c, "str", b"__PPxxxxxxxxxxxxxxxxRR__");
    assert_eq!(c.cmd("BITCOUNT str 2 -3"), R::Int(74));
}

#[test]
fn bitcount_argument_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for setup in [None, Some(b"1")] {
        if let Some(v) = setup {
            set(&mut c, "s", v);
        }
        assert_eq!(
            c.cmd("BITCOUNT s 0 1 hello"),
            R::Err("ERR syntax error".into())
        );
        assert_eq!(
            c.cmd("BITCOUNT s 0 1 hello hello2"),
            R::Err("ERR syntax error".into())
        );
        assert_eq!(
            c.cmd("BITCOUNT s a b"),
            R::Err("ERR value is not an integer or out of range".into())
        );
        // the unit is checked before the end
        assert_eq!(
            c.cmd("BITCOUNT s 0 b bad"),
            R::Err("ERR syntax error".into())
        );
        assert_eq!(
            c.cmd("BITCOUNT s a 1 bad"),
            R::Err("ERR value is not an integer or out of range".into())
        );
    }
    assert_eq!(
        c.cmd("BITCOUNT"),
        R::Err("ERR wrong number of arguments for 'bitcount' command".into())
    );
}

#[test]
fn bitpos_basics() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("BITPOS str 0"), R::Int(0));
    assert_eq!(c.cmd("BITPOS str 0 0 -1 bit"), R::Int(0));
    assert_eq!(c.cmd("BITPOS str 1"), R::Int(-1));
    assert_eq!(c.cmd("BITPOS str 1 0 -1"), R::Int(-1));

    set(&mut c, "str", b"\xff\xf0\x00");
    assert_eq!(c.cmd("BITPOS str 0"), R::Int(12));
    assert_eq!(c.cmd("BITPOS str 0 0 -1 bit"), R::Int(12));
    assert_eq!(c.cmd("BITPOS str 0 1"), R::Int(12));
    assert_eq!(c.cmd("BITPOS str 0 1 -1 bit"), R::Int(12));
    set(&mut c, "str", b"\x00\x0f\x00");
    assert_eq!(c.cmd("BITPOS str 1"), R::Int(12));
    assert_eq!(c.cmd("BITPOS str 1 0 -1 bit"), R::Int(12));
    set(&mut c, "str", b"\x00\x0f\xff");
    assert_eq!(c.cmd("BITPOS str 1 1"), R::Int(12));
    assert_eq!(c.cmd("BITPOS str 1 1 -1 bit"), R::Int(12));

    // an empty string has neither zeros nor ones, unlike a missing key
    set(&mut c, "str", b"");
    assert_eq!(c.cmd("BITPOS str 0"), R::Int(-1));
    for n in 0..20 {
        set(&mut c, "str", &vec![0; n]);
        assert_eq!(c.cmd("BITPOS str 1"), R::Int(-1));
        assert_eq!(c.cmd("BITPOS str 1 0 -1 bit"), R::Int(-1));
    }
}

#[test]
fn bitpos_across_words() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for (fill, last, bit) in [(0xffu8, 0x0fu8, 0), (0x00, 0xf0, 1)] {
        let mut v = vec![fill; 27];
        v.push(last);
        set(&mut c, "str", &v);
        assert_eq!(c.cmd(&format!("BITPOS str {bit}")), R::Int(216));
        for start in 1..=8 {
            assert_eq!(c.cmd(&format!("BITPOS str {bit} {start}")), R::Int(216));
        }
        for start in [1, 9, 17, 25, 33, 41, 49, 57, 65] {
            assert_eq!(
                c.cmd(&format!("BITPOS str {bit} {start} -1 bit")),
                R::Int(216)
            );
        }
    }
}

#[test]
fn bitpos_intervals() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    set(&mut c, "str", b"\x00\xff\x00");
    for (cmd, want) in [
        ("BITPOS str 0 0 -1", 0),
        ("BITPOS str 0 1 -1", 16),
        ("BITPOS str 0 2 -1", 16),
        ("BITPOS str 0 2 200", 16),
        ("BITPOS str 0 1 1", -1),
        ("BITPOS str 0 0 -1 bit", 0),
        ("BITPOS str 0 8 -1 bit", 16),
        ("BITPOS str 0 16 -1 bit", 16),
        ("BITPOS str 0 16 200 bit", 16),
        ("BITPOS str 0 8 8 bit", -1),
        ("BITPOS str 1 0 -1", 8),
        ("BITPOS str 1 1 -1", 8),
        ("BITPOS str 1 2 -1", -1),
        ("BITPOS str 1 2 200", -1),
        ("BITPOS str 1 1 1", 8),
        ("BITPOS str 1 0 -1 bit", 8),
        ("BITPOS str 1 8 -1 bit", 8),
        ("BITPOS str 1 16 -1 bit", -1),
        ("BITPOS str 1 16 200 bit", -1),
        ("BITPOS str 1 8 8 bit", 8),
        ("BITPOS str 1 5 3 bit", -1),
    ] {
        assert_eq!(c.cmd(cmd), R::Int(want), "{cmd}");
    }
    // an explicit end stops the zero padding on the right
    set(&mut c, "str", b"\xff\xff\xff");
    assert_eq!(c.cmd("BITPOS str 0"), R::Int(24));
    assert_eq!(c.cmd("BITPOS str 0 0"), R::Int(24));
    assert_eq!(c.cmd("BITPOS str 0 3"), R::Int(-1));
    assert_eq!(c.cmd("BITPOS str 0 0 -1"), R::Int(-1));
    assert_eq!(c.cmd("BITPOS str 0 0 -1 bit"), R::Int(-1));
}

#[test]
fn bitpos_argument_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for setup in [None, Some(b"1")] {
        if let Some(v) = setup {
            set(&mut c, "s", v);
        }
        assert_eq!(
            c.cmd("BITPOS s 0 1 hello hello2"),
            R::Err("ERR syntax error".into())
        );
        assert_eq!(
            c.cmd("BITPOS s 0 0 1 hello"),
            R::Err("ERR syntax error".into())
        );
        let not_int = R::Err("ERR value is not an integer or out of range".into());
        assert_eq!(c.cmd("BITPOS s a"), not_int);
        assert_eq!(c.cmd("BITPOS s 0 a b"), not_int);
        for bad in ["2", "-1"] {
            assert_eq!(
                c.cmd(&format!("BITPOS s {bad}")),
                R::Err("ERR The bit argument must be 1 or 0.".into())
            );
        }
    }
}

#[test]
fn bitpos_and_bitcount_follow_setbit() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let max = 1 << 16;
    let mut first_one: i64 = -1;
    for _ in 0..300 {
        assert_eq!(c.cmd("BITPOS str 1"), R::Int(first_one));
        assert_eq!(c.cmd("BITPOS str 1 0 -1 bit"), R::Int(first_one));
        let pos = rng.gen_range(0..max);
        c.cmd(&format!("SETBIT str {pos} 1"));
        if first_one == -1 || first_one > pos {
            first_one = pos;
        }
    }
    let mut first_zero = max;
    set(&mut c, "str", &vec![0xff; (max / 8) as usize]);
    for _ in 0..300 {
        assert_eq!(c.cmd("BITPOS str 0"), R::Int(first_zero));
        let want = if first_zero == max { -1 } else { first_zero };
        assert_eq!(c.cmd("BITPOS str 0 0 -1 bit"), R::Int(want));
        let pos = rng.gen_range(0..max);
        c.cmd(&format!("SETBIT str {pos} 0"));
        first_zero = first_zero.min(pos);
    }

    // a single odd bit in 80 bits of the other value, against random ranges
    let bits = 80usize;
    let mut model = vec![0u8; bits / 8];
    c.cmd("DEL str");
    c.cmd(&format!("SETBIT str {} 0", bits - 1));
    for odd in [1u8, 0] {
        let fill = if odd == 1 { 0 } else { 0xff };
        set(&mut c, "str", &vec![fill; bits / 8]);
        model.iter_mut().for_each(|b| *b = fill);
        for j in 0..bits {
            c.cmd(&format!("SETBIT str {j} {odd}"));
            model[j / 8] ^= 0x80 >> (j % 8);
            for _ in 0..4 {
                let (mut a, mut b) = (rng.gen_range(0..bits), rng.gen_range(0..bits));
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                let want_pos = (a..=b)
                    .find(|&i| bit(&model, i) == (odd == 1))
                    .map_or(-1, |p| p as i64);
                assert_eq!(
                    c.cmd(&format!("BITPOS str {odd} {a} {b} bit")),
                    R::Int(want_pos)
                );
                assert_eq!(
                    c.cmd(&format!("BITCOUNT str {a} {b} bit")),
                    R::Int(count_bits_range(&model, a, b))
                );
                let (ba, bb) = (a / 8, b / 8);
                let want_pos = (ba * 8..=bb * 8 + 7)
                    .find(|&i| bit(&model, i) == (odd == 1))
                    .map_or(-1, |p| p as i64);
                assert_eq!(
                    c.cmd(&format!("BITPOS str {odd} {ba} {bb}")),
                    R::Int(want_pos)
                );
                assert_eq!(
                    c.cmd(&format!("BITCOUNT str {ba} {bb}")),
                    R::Int(count_ones(&model[ba..=bb]))
                );
            }
            c.cmd(&format!("SETBIT str {j} {}", 1 - odd));
            model[j / 8] ^= 0x80 >> (j % 8);
        }
    }
}

#[test]
fn bitop_basics() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    set(&mut c, "s", b"");
    assert_eq!(c.cmd("BITOP not dest s"), R::Int(0));
    assert_eq!(get(&mut c, "dest"), R::Nil);

    set(&mut c, "s", b"\xaa\x00\xff\x55");
    assert_eq!(c.cmd("BITOP not dest s"), R::Int(4));
    assert_eq!(get(&mut c, "dest"), R::Bulk(b"\x55\xff\x00\xaa".to_vec()));
    assert_eq!(c.cmd("BITOP NOT s s"), R::Int(4));
    assert_eq!(get(&mut c, "s"), R::Bulk(b"\x55\xff\x00\xaa".to_vec()));

    set(&mut c, "a", b"\x01\x02\xff");
    for (i, op) in ["and", "or", "xor"].iter().enumerate() {
        assert_eq!(c.cmd(&format!("BITOP {op} res{i} a")), R::Int(3));
        assert_eq!(
            get(&mut c, &format!("res{i}")),
            R::Bulk(b"\x01\x02\xff".to_vec())
        );
    }
    // missing keys are streams of zeros
    assert_eq!(c.cmd("BITOP and r1 nokey a"), R::Int(3));
    assert_eq!(c.cmd("BITOP or r2 nokey a nokey2"), R::Int(3));
    assert_eq!(c.cmd("BITOP xor r3 nokey a"), R::Int(3));
    assert_eq!(get(&mut c, "r1"), R::Bulk(vec![0, 0, 0]));
    assert_eq!(get(&mut c, "r2"), R::Bulk(b"\x01\x02\xff".to_vec()));
    assert_eq!(get(&mut c, "r3"), R::Bulk(b"\x01\x02\xff".to_vec()));

    // shorter keys are zero-padded
    set(&mut c, "a", b"\x01\x02\xff\xff");
    set(&mut c, "b", b"\x01\x02\xff");
    c.cmd("BITOP and r1 a b");
    c.cmd("BITOP or r2 a b");
    c.cmd("BITOP xor r3 a b");
    assert_eq!(get(&mut c, "r1"), R::Bulk(b"\x01\x02\xff\x00".to_vec()));
    assert_eq!(get(&mut c, "r2"), R::Bulk(b"\x01\x02\xff\xff".to_vec()));
    assert_eq!(get(&mut c, "r3"), R::Bulk(b"\x00\x00\x00\xff".to_vec()));

    set(&mut c, "a", b"1");
    set(&mut c, "b", b"2");
    assert_eq!(c.cmd("BITOP xor dest a b a"), R::Int(1));
    assert_eq!(get(&mut c, "dest"), R::bulk("2"));

    set(&mut c, "z", &[0; 32]);
    assert_eq!(c.cmd("BITOP or x z nokey"), R::Int(32));
    assert_eq!(get(&mut c, "x"), R::Bulk(vec![0; 32]));
}

#[test]
fn bitop_empty_result_removes_destination() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    set(&mut c, "d", b"old");
    assert_eq!(c.cmd("BITOP and d nokey nokey2"), R::Int(0));
    assert_eq!(c.cmd("EXISTS d"), R::Int(0));
    set(&mut c, "d", b"old");
    set(&mut c, "e", b"");
    assert_eq!(c.cmd("BITOP or d e"), R::Int(0));
    assert_eq!(c.cmd("EXISTS d"), R::Int(0));
    // a stored result replaces the destination's TTL
    assert_eq!(c.cmd("SET d old EX 100"), R::ok());
    set(&mut c, "a", b"x");
    assert_eq!(c.cmd("BITOP or d a"), R::Int(1));
    assert_eq!(get(&mut c, "d"), R::bulk("x"));
}

#[test]
fn bitop_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("BITOP nand d a"), R::Err("ERR syntax error".into()));
    assert_eq!(
        c.cmd("BITOP not d a b"),
        R::Err("ERR BITOP NOT must be called with a single source key.".into())
    );
    assert_eq!(
        c.cmd("BITOP and d"),
        R::Err("ERR wrong number of arguments for 'bitop' command".into())
    );
    // later Redis operators are not part of Valkey
    for op in ["diff", "diff1", "andor", "one"] {
        assert_eq!(
            c.cmd(&format!("BITOP {op} d a b")),
            R::Err("ERR syntax error".into())
        );
    }
}

fn simulate_bitop(op: &str, srcs: &[Vec<u8>]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    (0..maxlen)
        .map(|j| {
            let at = |s: &Vec<u8>| s.get(j).copied().unwrap_or(0);
            let mut out = at(&srcs[0]);
            if op == "not" {
                out = !out;
            }
            for s in &srcs[1..] {
                match op {
                    "and" => out &= at(s),
                    "or" => out |= at(s),
                    _ => out ^= at(s),
                }
            }
            out
        })
        .collect()
}

#[test]
fn bitop_fuzzing() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for op in ["and", "or", "xor", "not"] {
        for _ in 0..10 {
            let n = if op == "not" {
                1
            } else {
                rng.gen_range(1..=10)
            };
            let mut keys: Vec<Vec<u8>> = vec![
                b"BITOP".to_vec(),
                op.as_bytes().to_vec(),
                b"target".to_vec(),
            ];
            let mut vecs = Vec::new();
            for j in 0..n {
                let len = rng.gen_range(0..1000);
                let v: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                let k = format!("vector_{j}");
                set(&mut c, &k, &v);
                keys.push(k.into_bytes());
                vecs.push(v);
            }
            let args: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
            let want = simulate_bitop(op, &vecs);
            assert_eq!(c.cmdv(&args), R::Int(want.len() as i64));
            let got = get(&mut c, "target");
            if want.is_empty() {
                assert_eq!(got, R::Nil);
            } else {
                assert_eq!(got, R::Bulk(want));
            }
        }
    }
}

#[test]
fn bitfield_basics() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("BITFIELD bits SET i8 0 -100"), ints(&[0]));
    assert_eq!(c.cmd("BITFIELD bits SET i8 0 101"), ints(&[-100]));
    assert_eq!(c.cmd("BITFIELD bits GET i8 0"), ints(&[101]));
    c.cmd("DEL bits");
    assert_eq!(c.cmd("BITFIELD bits SET u8 0 255"), ints(&[0]));
    assert_eq!(c.cmd("BITFIELD bits SET u8 0 100"), ints(&[255]));
    assert_eq!(c.cmd("BITFIELD bits GET u8 0"), ints(&[100]));
    c.cmd("DEL bits");
    assert_eq!(
        c.cmd("BITFIELD bits set i8 0 255 set i8 0 100 get i8 0"),
        ints(&[0, -1, 100])
    );
    c.cmd("DEL bits");
    assert_eq!(
        c.cmd("BITFIELD bits set u8 0 255 incrby u8 0 100 get u8 0"),
        ints(&[0, 99, 99])
    );
    c.cmd("DEL bits");
    assert_eq!(c.cmd("BITFIELD bits"), R::Array(vec![]));
    assert_eq!(c.cmd("EXISTS bits"), R::Int(0));

    c.cmd("BITFIELD bits set u8 #0 65");
    c.cmd("BITFIELD bits set u8 #1 66");
    c.cmd("BITFIELD bits set u8 #2 67");
    assert_eq!(get(&mut c, "bits"), R::bulk("ABC"));

    c.cmd("DEL bits");
    c.cmd("BITFIELD bits set u8 #0 10");
    assert_eq!(c.cmd("BITFIELD bits incrby u8 #0 100"), ints(&[110]));
    assert_eq!(c.cmd("BITFIELD bits incrby u8 #0 100"), ints(&[210]));
    c.cmd("BITFIELD bits set u8 #0 10");
    assert_eq!(
        c.cmd("BITFIELD bits incrby u8 #0 100 incrby u8 #0 100"),
        ints(&[110, 210])
    );

    // reads past the end are zero-padded; unaligned fields straddle bytes
    set(&mut c, "bits", b"1");
    assert_eq!(c.cmd("BITFIELD bits get u1 0"), ints(&[0]));
    assert_eq!(
        c.cmd("BITFIELD bits get u8 0 get u16 0 get i64 0"),
        ints(&[49, 12544, 3530822107858468864])
    );
    assert_eq!(
        c.cmd("BITFIELD bits get u4 4 get i4 4 get u63 0"),
        ints(&[1, 1, 1765411053929234432])
    );
    for _ in 0..3 {
        c.cmd("DEL mystring");
        assert_eq!(
            c.cmd("BITFIELD mystring SET i8 0 10 SET i8 64 10 INCRBY i8 10 99900"),
            ints(&[0, 0, 60])
        );
    }
    c.cmd("DEL bits");
    assert_eq!(
        c.cmd("BITFIELD bits GET u8 #0 SET u8 #1 66 INCRBY u8 #2 67 OVERFLOW FAIL INCRBY u8 #2 200 OverFlow Wrap incrby u8 #2 200"),
        R::Array(vec![R::Int(0), R::Int(0), R::Int(67), R::Nil, R::Int(11)])
    );
    assert_eq!(get(&mut c, "bits"), R::Bulk(vec![0, 66, 11]));
}

#[test]
fn bitfield_overflow_policies() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let cases: &[(&str, &str, [i64; 4])] = &[
        ("u8", "wrap", [101, 101, 100, 100]),
        ("i8", "wrap", [101, 101, 100, 100]),
    ];
    for (ty, ow, want) in cases {
        c.cmd("DEL bits");
        c.cmd(&format!("BITFIELD bits SET {ty} #0 100"));
        assert_eq!(
            c.cmd(&format!("BITFIELD bits OVERFLOW {ow} INCRBY {ty} #0 257")),
            ints(&want[..1])
        );
        assert_eq!(
            c.cmd(&format!("BITFIELD bits GET {ty} #0")),
            ints(&want[1..2])
        );
        assert_eq!(
            c.cmd(&format!("BITFIELD bits OVERFLOW {ow} INCRBY {ty} #0 255")),
            ints(&want[2..3])
        );
        assert_eq!(
            c.cmd(&format!("BITFIELD bits GET {ty} #0")),
            ints(&want[3..4])
        );
    }
    c.cmd("DEL bits");
    c.cmd("BITFIELD bits SET u8 #0 100");
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat INCRBY u8 #0 257"),
        ints(&[255])
    );
    assert_eq!(c.cmd("BITFIELD bits GET u8 #0"), ints(&[255]));
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat INCRBY u8 #0 -255"),
        ints(&[0])
    );
    assert_eq!(c.cmd("BITFIELD bits GET u8 #0"), ints(&[0]));
    c.cmd("DEL bits");
    c.cmd("BITFIELD bits SET u8 #0 100");
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat INCRBY i8 #0 257"),
        ints(&[127])
    );
    assert_eq!(c.cmd("BITFIELD bits GET i8 #0"), ints(&[127]));
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat INCRBY i8 #0 -255"),
        ints(&[-128])
    );
    assert_eq!(c.cmd("BITFIELD bits GET i8 #0"), ints(&[-128]));

    // out-of-range SET values: wrapped, saturated (a negative unsigned saturates high)
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat SET u8 0 -1 GET u8 0"),
        ints(&[128, 255])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW wrap SET u8 0 -1 GET u8 0"),
        ints(&[255, 255])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat SET i8 0 1000 GET i8 0"),
        ints(&[-1, 127])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat SET i8 0 -1000 GET i8 0"),
        ints(&[127, -128])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW fail SET i8 0 1000 GET i8 0"),
        R::Array(vec![R::Nil, R::Int(-128)])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807"),
        ints(&[-1, i64::MAX - 1])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW wrap INCRBY i64 0 1"),
        ints(&[i64::MAX])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW wrap INCRBY i64 0 1"),
        ints(&[i64::MIN])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW fail INCRBY i64 0 -1 SET u63 0 -1"),
        R::Array(vec![R::Nil, R::Nil])
    );
    assert_eq!(
        c.cmd("BITFIELD bits OVERFLOW sat INCRBY u63 0 9223372036854775807 INCRBY u63 0 1"),
        ints(&[i64::MAX, i64::MAX])
    );

    // FAIL writes nothing, yet the key is created by the attempt
    assert_eq!(
        c.cmd("BITFIELD newk OVERFLOW FAIL INCRBY u2 0 10"),
        R::Array(vec![R::Nil])
    );
    assert_eq!(get(&mut c, "newk"), R::Bulk(vec![0]));
    // GET alone does not create the key
    assert_eq!(c.cmd("BITFIELD nokey GET i8 0"), ints(&[0]));
    assert_eq!(c.cmd("EXISTS nokey"), R::Int(0));
}

#[test]
fn bitfield_overflow_fuzzing() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for _ in 0..500 {
        let bits: u32 = rng.gen_range(1..=64);
        let signed = bits == 64 || rng.gen_bool(0.5);
        let range = 1i128 << bits;
        let min = if signed { -(range / 2) } else { 0 };
        let max = min + range - 1;
        let ty = format!("{}{bits}", if signed { 'i' } else { 'u' });
        let clamp = |v: i128| v.clamp(i64::MIN as i128, i64::MAX as i128);
        let value = clamp(min * 2 + rng.gen_range(0..range * 2));
        let incr = clamp(min * 2 + rng.gen_range(0..range * 2));
        let overflow = value > max || value < min || value + incr > max || value + incr < min;

        c.cmd("DEL bits");
        let r1 = c
            .cmd(&format!("BITFIELD bits OVERFLOW fail SET {ty} 0 {value}"))
            .items();
        let r2 = c
            .cmd(&format!("BITFIELD bits OVERFLOW fail INCRBY {ty} 0 {incr}"))
            .items();
        let failed = r1[0] == R::Nil || r2[0] == R::Nil;
        assert_eq!(failed, overflow, "{ty} {value}+{incr}");

        c.cmd("DEL bits");
        c.cmd(&format!("BITFIELD bits OVERFLOW wrap SET {ty} 0 {value}"));
        c.cmd(&format!("BITFIELD bits OVERFLOW wrap INCRBY {ty} 0 {incr}"));
        let got = c.cmd(&format!("BITFIELD bits GET {ty} 0")).items();
        let want = (value + incr - min).rem_euclid(range) + min;
        assert_eq!(got, vec![R::Int(want as i64)], "{ty} {value}+{incr}");
    }
}

#[test]
fn bitfield_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for ty in ["u64", "i65", "i0", "x8", "u", "I8"] {
        assert_eq!(
            c.cmd(&format!("BITFIELD k GET {ty} 0")),
            R::Err(TYPE_ERR.into()),
            "{ty}"
        );
    }
    for off in ["-1", "#-1", "x", "#x", "#", "4294967296"] {
        assert_eq!(
            c.cmd(&format!("BITFIELD k GET i8 {off}")),
            R::Err(OFFSET_ERR.into()),
            "{off}"
        );
    }
    for cmd in [
        "BITFIELD k GET i8",
        "BITFIELD k SET i8 0",
        "BITFIELD k INCRBY i8 0",
        "BITFIELD k OVERFLOW",
        "BITFIELD k foo",
        "BITFIELD k GET u8 0 foo",
    ] {
        assert_eq!(c.cmd(cmd), R::Err("ERR syntax error".into()), "{cmd}");
    }
    assert_eq!(
        c.cmd("BITFIELD k OVERFLOW bad GET i8 0"),
        R::Err("ERR Invalid OVERFLOW type specified".into())
    );
    let not_int = R::Err("ERR value is not an integer or out of range".into());
    assert_eq!(c.cmd("BITFIELD k SET i8 0 x"), not_int);
    assert_eq!(c.cmd("BITFIELD k INCRBY i8 0 9223372036854775808"), not_int);
    // a bad later operation leaves earlier ones unexecuted
    assert_eq!(
        c.cmd("BITFIELD k SET u8 0 1 GET u64 0"),
        R::Err(TYPE_ERR.into())
    );
    assert_eq!(c.cmd("EXISTS k"), R::Int(0));
    assert_eq!(
        c.cmd("BITFIELD"),
        R::Err("ERR wrong number of arguments for 'bitfield' command".into())
    );
}

#[test]
fn bitfield_ro() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd("BITFIELD_RO bits"), R::Array(vec![]));
    set(&mut c, "bits", b"\xf0");
    assert_eq!(
        c.cmd("BITFIELD_RO bits GET u8 0 GET i4 0 GET u4 4"),
        ints(&[240, -1, 0])
    );
    let ro_err = R::Err("ERR BITFIELD_RO only supports the GET subcommand".into());
    assert_eq!(c.cmd("BITFIELD_RO bits set u8 0 100 get u8 0"), ro_err);
    assert_eq!(c.cmd("BITFIELD_RO bits incrby u8 0 100"), ro_err);
    assert_eq!(c.cmd("BITFIELD_RO nokey set u8 0 100"), ro_err);
    assert_eq!(c.cmd("EXISTS nokey"), R::Int(0));
    // argument errors anywhere come first
    assert_eq!(
        c.cmd("BITFIELD_RO bits set u8 0 100 get u64 0"),
        R::Err(TYPE_ERR.into())
    );
    assert_eq!(
        c.cmd("BITFIELD_RO bits set u8 0 x"),
        R::Err("ERR value is not an integer or out of range".into())
    );
    // OVERFLOW alone is not a write
    assert_eq!(
        c.cmd("BITFIELD_RO bits OVERFLOW sat GET u8 0"),
        ints(&[240])
    );
    assert_eq!(get(&mut c, "bits"), R::Bulk(vec![0xf0]));
}

#[test]
fn command_table_entries() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let info = |c: &mut Raw, name: &str| c.cmd(&format!("COMMAND INFO {name}")).items()[0].items();
    let expect: &[(&str, i64, &[&str], [i64; 3])] = &[
        ("setbit", 4, &["write", "denyoom"], [1, 1, 1]),
        ("getbit", 3, &["readonly", "fast"], [1, 1, 1]),
        ("bitcount", -2, &["readonly"], [1, 1, 1]),
        ("bitpos", -3, &["readonly"], [1, 1, 1]),
        ("bitop", -4, &["write", "denyoom"], [2, -1, 1]),
        ("bitfield", -2, &["write", "denyoom"], [1, 1, 1]),
        ("bitfield_ro", -2, &["readonly", "fast"], [1, 1, 1]),
    ];
    for (name, arity, flags, keys) in expect {
        let i = info(&mut c, name);
        assert_eq!(i[0], R::bulk(name));
        assert_eq!(i[1], R::Int(*arity), "{name}");
        let got: Vec<String> = i[2].items().iter().map(|f| f.text()).collect();
        assert_eq!(got, *flags, "{name}");
        assert_eq!(&i[3..6], &keys.map(R::Int)[..], "{name}");
        let cats: Vec<String> = i[6].items().iter().map(|f| f.text()).collect();
        assert!(cats.contains(&"@bitmap".to_string()), "{name}: {cats:?}");
    }
}
