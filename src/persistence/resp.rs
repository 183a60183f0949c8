//! The AOF's record format: RESP arrays of bulk strings, as a client sends them, plus
//! `#...` annotation lines (Valkey's `#TS:<unix>` timestamps) that loaders skip.

/// Appends one command as a RESP array of bulk strings.
pub fn encode<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// What [`parse_into`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A command of `consumed` bytes (its argument spans are in the caller's vector).
    Command { consumed: usize },
    /// An annotation line of `consumed` bytes.
    Annotation { consumed: usize },
    /// The buffer ends inside a record.
    Incomplete,
    /// Not a valid record: `at` is the offset of the problem within the buffer.
    Bad { at: usize, why: &'static str },
}

/// The largest argument count and argument length accepted from a file: generous,
/// but a corrupt length must not make the loader allocate without bound.
const MAX_ARGS: usize = 1 << 30;
const MAX_BULK: usize = 1 << 39;

/// Offset of the `\r\n` ending the line that starts at `from`.
fn line(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = buf.get(i..)?.iter().position(|&c| c == b'\r') {
        let at = i + p;
        if buf.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// A decimal length: digits only, at most 19 of them (so it fits without overflow).
fn number(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n = 0usize;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as usize;
    }
    Some(n)
}

/// Parses the record at the start of `buf`. A command's argument spans (offsets into
/// `buf`) go into `spans`, cleared first: the loader reuses one vector for every
/// record rather than allocating one per record.
pub fn parse_into(buf: &[u8], spans: &mut Vec<(usize, usize)>) -> Step {
    spans.clear();
    if buf.is_empty() {
        return Step::Incomplete;
    }
    if buf[0] == b'#' {
        return match buf.iter().position(|&c| c == b'\n') {
            Some(p) => Step::Annotation { consumed: p + 1 },
            None => Step::Incomplete,
        };
    }
    if buf[0] != b'*' {
        return Step::Bad {
            at: 0,
            why: "a record must start with '*'",
        };
    }
    let Some(end) = line(buf, 1) else {
        return if buf.len() > 32 {
            Step::Bad {
                at: 0,
                why: "invalid argument count",
            }
        } else {
            Step::Incomplete
        };
    };
    let Some(argc) = number(&buf[1..end]).filter(|&n| (1..=MAX_ARGS).contains(&n)) else {
        return Step::Bad {
            at: 0,
            why: "invalid argument count",
        };
    };
    let mut pos = end + 2;
    spans.reserve(argc.min(1024));
    for _ in 0..argc {
        if pos >= buf.len() {
            return Step::Incomplete;
        }
        if buf[pos] != b'$' {
            return Step::Bad {
                at: pos,
                why: "expected '$' before an argument",
            };
        }
        let Some(end) = line(buf, pos + 1) else {
            return if buf.len() - pos > 32 {
                Step::Bad {
                    at: pos,
                    why: "invalid bulk length",
                }
            } else {
                Step::Incomplete
            };
        };
        let Some(len) = number(&buf[pos + 1..end]).filter(|&n| n <= MAX_BULK) else {
            return Step::Bad {
                at: pos,
                why: "invalid bulk length",
            };
        };
        let start = end + 2;
        if buf.len() < start + len + 2 {
            return Step::Incomplete;
        }
        if &buf[start + len..start + len + 2] != b"\r\n" {
            return Step::Bad {
                at: start + len,
                why: "argument not terminated by CRLF",
            };
        }
        spans.push((start, start + len));
        pos = start + len + 2;
    }
    Step::Command { consumed: pos }
}

/// One value read back from a RESP reply buffer (RESP2 or RESP3), enough to recover
/// what a command returned: bulk/simple strings and flat aggregates of them.
pub fn reply_strings(buf: &[u8]) -> Option<Vec<Vec<u8>>> {
    let end = line(buf, 0)?;
    let head = &buf[1..end];
    match buf.first()? {
        b'$' => {
            let n = number(head)?;
            let start = end + 2;
            Some(vec![buf.get(start..start + n)?.to_vec()])
        }
        b'+' | b',' => Some(vec![head.to_vec()]),
        b'*' | b'~' => {
            let n = number(head)?;
            let mut out = Vec::with_capacity(n.min(1024));
            let mut pos = end + 2;
            for _ in 0..n {
                let e = line(buf, pos)?;
                match buf.get(pos)? {
                    b'$' => {
                        let len = number(&buf[pos + 1..e])?;
                        let s = e + 2;
                        out.push(buf.get(s..s + len)?.to_vec());
                        pos = s + len + 2;
                    }
                    b'+' => {
                        out.push(buf[pos + 1..e].to_vec());
                        pos = e + 2;
                    }
                    _ => return None,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = Vec::new();
        encode(&mut b, &[&b"SET"[..], b"k", b"v\r\nx"]);
        let mut sp = Vec::new();
        match parse_into(&b, &mut sp) {
            Step::Command { consumed } => {
                assert_eq!(consumed, b.len());
                assert_eq!(&b[sp[2].0..sp[2].1], b"v\r\nx");
            }
            other => panic!("{other:?}"),
        }
        for cut in 0..b.len() {
            assert_eq!(
                parse_into(&b[..cut], &mut sp),
                Step::Incomplete,
                "cut {cut}"
            );
        }
        assert!(matches!(
            parse_into(b"#TS:1\r\n*1", &mut sp),
            Step::Annotation { consumed: 7 }
        ));
        assert!(matches!(parse_into(b"xyz\r\n", &mut sp), Step::Bad { .. }));
        assert!(matches!(
            parse_into(b"*1\r\n$3\r\nabcXY", &mut sp),
            Step::Bad { at: 11, .. }
        ));
        // a lone CR inside a length line is not its end
        assert!(matches!(
            parse_into(b"*1\r\n$3\rx\r\nabc\r\n", &mut sp),
            Step::Bad { .. }
        ));
        assert_eq!(number(b"18446744073709551615"), None);
        assert_eq!(number(b"1234567890123456789"), Some(1234567890123456789));
        assert_eq!(number(b"12a"), None);
    }

    #[test]
    fn replies() {
        assert_eq!(reply_strings(b"$3\r\n1.5\r\n"), Some(vec![b"1.5".to_vec()]));
        assert_eq!(
            reply_strings(b"~2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            Some(vec![b"a".to_vec(), b"b".to_vec()])
        );
        assert_eq!(reply_strings(b"$-1\r\n"), None);
    }
}
