//! The x87 80-bit "long double" that INCRBYFLOAT computes with.
//!
//! Valkey parses both operands with `strtold`, adds them as `long double` (on x86-64 the
//! 80-bit extended format: 64-bit significand, 15-bit exponent) and prints the sum with
//! `%.17Lf` before trimming trailing zeros. Doing the same in f64 prints different digits
//! (`INCRBYFLOAT k 0.1` would store `0.10000000000000001` instead of `0.1`), so the format
//! is emulated exactly: correctly rounded parsing, addition rounded to nearest-even and
//! exact fixed-point printing, all on integers.

use std::cmp::Ordering;

/// Exponent of the smallest subnormal, 2^-16445.
const EMIN: i64 = -16445;
/// Largest exponent of a 64-bit significand: (2^64-1) * 2^16320 is the largest finite value.
const EMAX: i64 = 16320;
/// Longest input `string2ld` accepts (its buffer is MAX_LONG_DOUBLE_CHARS including the NUL).
const MAX_CHARS: usize = 5 * 1024 - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    Zero {
        neg: bool,
    },
    Inf {
        neg: bool,
    },
    Nan,
    /// `m * 2^e`; `m` has its top bit set unless `e == EMIN` (a subnormal).
    Finite {
        neg: bool,
        m: u64,
        e: i64,
    },
}

impl LongDouble {
    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Zero { .. } | LongDouble::Finite { .. })
    }
}

/// Rounds `m * 2^e` (m exact, or with a sticky bit jammed into its lowest bit at least two
/// bits below the rounding point) to the nearest representable value, ties to even.
fn round(neg: bool, m: u128, e: i64) -> LongDouble {
    if m == 0 {
        return LongDouble::Zero { neg };
    }
    let bits = 128 - m.leading_zeros() as i64;
    let shift = (bits - 64).max(EMIN - e);
    let (mant, exp) = if shift <= 0 {
        ((m << (-shift) as u32) as u64, e + shift)
    } else {
        let (mut q, half, rest) = if shift > 128 {
            (0u128, false, true)
        } else if shift == 128 {
            (0, m >> 127 == 1, m & (u128::MAX >> 1) != 0)
        } else {
            let s = shift as u32;
            let low = m & ((1u128 << (s - 1)) - 1);
            (m >> s, (m >> (s - 1)) & 1 == 1, low != 0)
        };
        if half && (rest || q & 1 == 1) {
            q += 1;
        }
        let mut exp = e + shift;
        if q >> 64 != 0 {
            q >>= 1;
            exp += 1;
        }
        (q as u64, exp)
    };
    if mant == 0 {
        LongDouble::Zero { neg }
    } else if exp > EMAX {
        LongDouble::Inf { neg }
    } else {
        LongDouble::Finite {
            neg,
            m: mant,
            e: exp,
        }
    }
}

/// `a + b` rounded to nearest-even, with IEEE signed-zero and infinity rules.
pub fn add(a: LongDouble, b: LongDouble) -> LongDouble {
    use LongDouble::*;
    match (a, b) {
        (Nan, _) | (_, Nan) => Nan,
        (Inf { neg: x }, Inf { neg: y }) => {
            if x == y {
                a
            } else {
                Nan
            }
        }
        (Inf { .. }, _) => a,
        (_, Inf { .. }) => b,
        (Zero { neg: x }, Zero { neg: y }) => Zero { neg: x && y },
        (Zero { .. }, f) | (f, Zero { .. }) => f,
        (
            Finite {
                neg: na,
                m: ma,
                e: ea,
            },
            Finite {
                neg: nb,
                m: mb,
                e: eb,
            },
        ) => {
            // with the significand normalized, (exponent, significand) orders magnitudes
            let ((nx, mx, ex), (ny, my, ey)) = if (ea, ma) >= (eb, mb) {
                ((na, ma, ea), (nb, mb, eb))
            } else {
                ((nb, mb, eb), (na, ma, ea))
            };
            // 62 guard bits keep the sum below 2^127 and the jammed sticky bit far below
            // the rounding point
            const G: u32 = 62;
            let x = (mx as u128) << G;
            let y0 = (my as u128) << G;
            let d = (ex - ey) as u64;
            let y = if d >= 127 {
                1
            } else {
                let v = y0 >> d;
                if v << d != y0 {
                    v | 1
                } else {
                    v
                }
            };
            if nx == ny {
                round(nx, x + y, ex - G as i64)
            } else if x == y {
                Zero { neg: false }
            } else {
                round(nx, x - y, ex - G as i64)
            }
        }
    }
}

/// Parses like Valkey's `string2ld`: the whole input must be one `strtold` number with no
/// leading space; NaN, overflow and underflow to zero are refused.
pub fn parse(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() > MAX_CHARS {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(LongDouble::Inf { neg });
    }
    let v = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex(neg, &body[2..])?
    } else {
        parse_dec(neg, body)?
    };
    match v {
        // strtold reports ERANGE for these and string2ld turns that into a failure
        LongDouble::Inf { .. } | LongDouble::Nan => None,
        LongDouble::Zero { .. } if !exact_zero(body) => None,
        v => Some(v),
    }
}

/// True when every digit of the number is zero (a written zero, not an underflow).
fn exact_zero(body: &[u8]) -> bool {
    let mantissa = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        let m = &body[2..];
        &m[..m.iter().position(|&c| c | 0x20 == b'p').unwrap_or(m.len())]
    } else {
        &body[..body
            .iter()
            .position(|&c| c | 0x20 == b'e')
            .unwrap_or(body.len())]
    };
    mantissa.iter().all(|&c| c == b'0' || c == b'.')
}

/// Parses an optional exponent `[+-]digits` that must run to the end of the input,
/// saturating far beyond any representable value.
fn parse_exp(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        v = (v * 10 + (c - b'0') as i64).min(1 << 40);
    }
    Some(if neg { -v } else { v })
}

/// Splits `digits[.digits]` into its digit characters and the count after the point.
/// At least one digit is required.
fn split_mantissa(m: &[u8], is_digit: fn(&u8) -> bool) -> Option<(Vec<u8>, i64)> {
    let mut digits = Vec::with_capacity(m.len());
    let mut frac = 0i64;
    let mut seen_point = false;
    for &c in m {
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if is_digit(&c) {
            digits.push(c);
            if seen_point {
                frac += 1;
            }
        } else {
            return None;
        }
    }
    if digits.is_empty() {
        None
    } else {
        Some((digits, frac))
    }
}

fn parse_dec(neg: bool, body: &[u8]) -> Option<LongDouble> {
    let (mant, exp) = match body.iter().position(|&c| c | 0x20 == b'e') {
        Some(p) => (&body[..p], parse_exp(&body[p + 1..])?),
        None => (body, 0),
    };
    let (digits, frac) = split_mantissa(mant, u8::is_ascii_digit)?;
    let first = digits.iter().position(|&c| c != b'0');
    let Some(first) = first else {
        return Some(LongDouble::Zero { neg });
    };
    let last = digits.iter().rposition(|&c| c != b'0').unwrap_or(first);
    let sig = &digits[first..=last];
    // value = sig * 10^k
    let k = exp - frac + (digits.len() - 1 - last) as i64;
    let nd = sig.len() as i64;
    // value lies in [10^(nd+k-1), 10^(nd+k))
    if nd + k > 4933 {
        return Some(LongDouble::Inf { neg });
    }
    if nd + k <= -4951 {
        return Some(LongDouble::Zero { neg });
    }
    let d = Big::from_decimal(sig);
    if k >= 0 {
        let mut n = d;
        n.mul_pow10(k as u32);
        Some(round_big(neg, &n, 0))
    } else {
        let mut p = Big::from_u64(1);
        p.mul_pow10((-k) as u32);
        Some(round_quotient(neg, &d, &p))
    }
}

fn parse_hex(neg: bool, body: &[u8]) -> Option<LongDouble> {
    let (mant, exp) = match body.iter().position(|&c| c | 0x20 == b'p') {
        Some(p) => (&body[..p], parse_exp(&body[p + 1..])?),
        None => (body, 0),
    };
    let (digits, frac) = split_mantissa(mant, u8::is_ascii_hexdigit)?;
    let mut h = Big::default();
    for &c in &digits {
        let v = (c as char).to_digit(16).unwrap_or(0);
        h.mul_small(16);
        h.add_small(v);
    }
    if h.is_zero() {
        return Some(LongDouble::Zero { neg });
    }
    Some(round_big(neg, &h, exp - 4 * frac))
}

/// Rounds the exact value `n * 2^e`.
fn round_big(neg: bool, n: &Big, e: i64) -> LongDouble {
    let bits = n.bit_len() as i64;
    if bits <= 126 {
        return round(neg, n.low_u128(), e);
    }
    let drop = (bits - 126) as usize;
    let mut top = n.shr(drop).low_u128();
    if n.any_low_bits(drop) {
        top |= 1;
    }
    round(neg, top, e + drop as i64)
}

/// Rounds the exact value `num / den`, both positive.
fn round_quotient(neg: bool, num: &Big, den: &Big) -> LongDouble {
    // scale so that the quotient has 66 or 67 bits: two bits beyond the significand to
    // round with, plus a sticky bit from the remainder
    let s = den.bit_len() as i64 - num.bit_len() as i64 + 66;
    let (mut r, d) = if s >= 0 {
        (num.shl(s as usize), den.clone())
    } else {
        (num.clone(), den.shl((-s) as usize))
    };
    let mut q: u128 = 0;
    let mut t = d.shl(67);
    for i in (0..=67).rev() {
        if r.cmp_big(&t) != Ordering::Less {
            r.sub_assign(&t);
            q |= 1u128 << i;
        }
        t.shr1();
    }
    if !r.is_zero() {
        q |= 1;
    }
    round(neg, q, -s)
}

/// Prints like `%.17Lf`, then drops trailing zeros (and a bare point) and turns "-0" into
/// "0": Valkey's human-friendly long double format.
pub fn format_human(v: LongDouble) -> String {
    let (neg, mut s) = match v {
        LongDouble::Nan => return "nan".into(),
        LongDouble::Inf { neg } => return if neg { "-inf".into() } else { "inf".into() },
        LongDouble::Zero { neg } => (neg, "0.00000000000000000".to_string()),
        LongDouble::Finite { neg, m, e } if e >= 0 => {
            let mut n = Big::from_u64(m).shl(e as usize).to_decimal();
            n.push_str(".00000000000000000");
            (neg, n)
        }
        LongDouble::Finite { neg, m, e } => {
            const SCALE: u128 = 100_000_000_000_000_000;
            let n = m as u128 * SCALE;
            let shift = (-e) as u32;
            let q = if shift >= 128 {
                // n < 2^121, below half of 2^shift
                0
            } else {
                let q = n >> shift;
                let rem = n & ((1u128 << shift) - 1);
                let half = 1u128 << (shift - 1);
                if rem > half || (rem == half && q & 1 == 1) {
                    q + 1
                } else {
                    q
                }
            };
            (neg, format!("{}.{:017}", q / SCALE, q % SCALE))
        }
    };
    let trimmed = s.trim_end_matches('0').len();
    s.truncate(trimmed);
    if s.ends_with('.') {
        s.pop();
    }
    if neg && s != "0" {
        s.insert(0, '-');
    }
    s
}

/// A non-negative big integer, 32-bit limbs, least significant first, no zero top limb.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn from_decimal(digits: &[u8]) -> Big {
        let mut b = Big::default();
        for chunk in digits.chunks(9) {
            let mut v = 0u32;
            for &c in chunk {
                v = v * 10 + (c - b'0') as u32;
            }
            b.mul_small(10u32.pow(chunk.len() as u32));
            b.add_small(v);
        }
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() * 32 - top.leading_zeros() as usize,
        }
    }

    fn mul_small(&mut self, f: u32) {
        let mut carry = 0u64;
        for l in self.0.iter_mut() {
            let v = *l as u64 * f as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for l in self.0.iter_mut() {
            if carry == 0 {
                break;
            }
            let v = *l as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u32) {
        while k >= 9 {
            self.mul_small(1_000_000_000);
            k -= 9;
        }
        if k > 0 {
            self.mul_small(10u32.pow(k));
        }
    }

    fn shl(&self, n: usize) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let (limbs, bits) = (n / 32, (n % 32) as u32);
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        if bits == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &l in &self.0 {
                out.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr(&self, n: usize) -> Big {
        let (limbs, bits) = (n / 32, (n % 32) as u32);
        if limbs >= self.0.len() {
            return Big::default();
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for (i, &l) in src.iter().enumerate() {
            let hi = if bits == 0 {
                0
            } else {
                src.get(i + 1).map_or(0, |&h| h << (32 - bits))
            };
            out.push((l >> bits) | hi);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for l in self.0.iter_mut().rev() {
            let next = *l & 1;
            *l = (*l >> 1) | (carry << 31);
            carry = next;
        }
        self.trim();
    }

    /// True if any of the lowest `n` bits is set.
    fn any_low_bits(&self, n: usize) -> bool {
        let (limbs, bits) = (n / 32, n % 32);
        if self.0.iter().take(limbs).any(|&l| l != 0) {
            return true;
        }
        bits > 0
            && self
                .0
                .get(limbs)
                .is_some_and(|&l| l & ((1u32 << bits) - 1) != 0)
    }

    fn low_u128(&self) -> u128 {
        self.0
            .iter()
            .take(4)
            .enumerate()
            .fold(0u128, |acc, (i, &l)| acc | (l as u128) << (32 * i))
    }

    fn cmp_big(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    /// `self -= o`; the caller guarantees `self >= o`.
    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for (i, l) in self.0.iter_mut().enumerate() {
            let v = *l as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            if v < 0 {
                *l = (v + (1i64 << 32)) as u32;
                borrow = 1;
            } else {
                *l = v as u32;
                borrow = 0;
            }
        }
        self.trim();
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            let mut rem = 0u64;
            for l in n.0.iter_mut().rev() {
                let cur = (rem << 32) | *l as u64;
                *l = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            n.trim();
            chunks.push(rem as u32);
        }
        let mut s = chunks
            .last()
            .map_or_else(|| "0".to_string(), |c| c.to_string());
        for c in chunks.iter().rev().skip(1) {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> LongDouble {
        parse(s.as_bytes()).unwrap_or_else(|| panic!("{s} did not parse"))
    }

    fn sum(a: &str, b: &str) -> String {
        format_human(add(p(a), p(b)))
    }

    #[test]
    fn human_format_of_sums() {
        assert_eq!(sum("0", "0.1"), "0.1");
        assert_eq!(sum("1", "-1.1"), "-0.1");
        assert_eq!(sum("17179869184", "1.5"), "17179869185.5");
        assert_eq!(sum("17179869184", "17179869184"), "34359738368");
        assert_eq!(sum("0.024390243902439025", "-0.024390243902439025"), "0");
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("1.5", "1.5"), "3");
        assert_eq!(sum("5.0e3", "2.0e2"), "5200");
        assert_eq!(sum("0", "1e20"), "100000000000000000000");
        assert_eq!(sum("0", "1.5e-7"), "0.00000015");
        assert_eq!(sum("0", "-0"), "0");
        assert_eq!(sum("-0", "-0"), "0");
        assert_eq!(sum("0", "1e-18"), "0");
        assert_eq!(sum("0", "-1e-18"), "0");
        assert_eq!(sum("0", "0x1.8p1"), "3");
        assert_eq!(sum("1", "inf"), "inf");
        assert_eq!(add(p("inf"), p("-inf")), LongDouble::Nan);
    }

    #[test]
    fn values_beyond_double_precision() {
        // 2^64 + 1 needs 65 bits: rounds to even
        assert_eq!(sum("18446744073709551616", "1"), "18446744073709551616");
        assert_eq!(sum("9223372036854775807", "1"), "9223372036854775808");
        assert_eq!(sum("0", "1.1"), "1.1");
        assert_eq!(sum("0", "0.3"), "0.3");
        assert_eq!(sum("0", "3.14159265358979323846"), "3.14159265358979324");
        assert_eq!(
            sum("0", "1e300"),
            "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"
        );
    }

    #[test]
    fn parse_rules() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "-nan", "1e", "1e+", ".", "e5", "0x", "1\u{0}", "1.2.3",
            "--1", "1e5000", "1e-5000", "infinit",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?} should not parse");
        }
        assert_eq!(parse(b"0e-99999"), Some(LongDouble::Zero { neg: false }));
        assert_eq!(parse(b"-0.0"), Some(LongDouble::Zero { neg: true }));
        assert!(
            parse(b"1e-4940").is_some_and(|v| v.is_finite()),
            "subnormals are accepted"
        );
        assert!(parse(b"+.5").is_some());
        assert!(parse(b"5.").is_some());
        assert_eq!(parse(b"-Infinity"), Some(LongDouble::Inf { neg: true }));
        assert_eq!(parse(&vec![b'1'; MAX_CHARS + 1]), None);
        assert!(parse(&[vec![b'1'], vec![b'0'; 4000]].concat()).is_some());
    }

    #[test]
    fn extremes_round_trip_through_rounding() {
        assert_eq!(
            p("1.18973149535723176502e4932"),
            LongDouble::Finite {
                neg: false,
                m: u64::MAX,
                e: EMAX
            }
        );
        assert_eq!(parse(b"1.2e4932"), None);
        assert_eq!(
            p("3.6451995318824746025e-4951"),
            LongDouble::Finite {
                neg: false,
                m: 1,
                e: EMIN
            }
        );
        assert_eq!(parse(b"1.8e-4951"), None);
        let tiny = p("3.6451995318824746025e-4951");
        assert_eq!(format_human(tiny), "0");
        assert_eq!(
            format_human(add(p("-1e-30"), LongDouble::Zero { neg: false })),
            "0"
        );
    }
}
