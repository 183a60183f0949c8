//! LEB128-style unsigned varints, as the compact collection encodings store lengths:
//! seven bits per byte, high bit set on every byte but the last.

pub fn put(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Bytes `put` writes for `n`.
pub fn len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// Reads the varint starting at `at`: (value, offset just past it). The buffers are
/// the store's own, so a varint always ends inside them.
pub fn read(buf: &[u8], at: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut k = 0;
    loop {
        let b = buf[at + k];
        n |= ((b & 0x7f) as usize) << (7 * k);
        k += 1;
        if b & 0x80 == 0 {
            return (n, at + k);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        for n in [0, 1, 127, 128, 300, 16_383, 16_384, usize::MAX >> 1] {
            let mut b = vec![0xaa];
            super::put(&mut b, n);
            assert_eq!(b.len() - 1, super::len(n));
            assert_eq!(super::read(&b, 1), (n, b.len()));
        }
    }
}
