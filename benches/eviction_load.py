#!/usr/bin/env python3
"""Load generator and sampler for benches/eviction.sh (standard library only).

Usage:
  eviction_load.py zipf PORT KEYS WARMUP OPS SEED [VALUE_BYTES] [THETA]
      Cache-aside over KEYS keys (key:NNNNNNNN) drawn from Zipf(THETA, default 0.99)
      with a fixed seed, so every server sees the same sequence: GET the key; on a
      miss SET it to a VALUE_BYTES (default 100) value. Requests go in pipelined
      batches of 100 GETs, then one batch of the misses' SETs. The first WARMUP
      operations fill the cache and are not counted; the next OPS are. Prints one line:
          hits=<n> gets=<n> hit_ratio=<r> errors=<n> seconds=<s>
  eviction_load.py stream COUNT VALUE_BYTES
      Writes COUNT `SET big:NNNNNNNN <VALUE_BYTES bytes>` commands of distinct keys as
      one RESP stream on stdout (for valkey-cli --pipe).
  eviction_load.py watch PORT PID STOPFILE [INTERVAL_S]
      Until STOPFILE exists (or the process PID is gone): every INTERVAL_S (0.05)
      read VmRSS of PID and time one PING on a persistent connection (timeout 2 s;
      a failed PING reconnects). Prints one line:
          samples=<n> max_rss_kb=<n> ping_failures=<n> ping_max_ms=<f> ping_p99_ms=<f>
          alive=<0|1>
"""

import bisect
import itertools
import os
import random
import socket
import sys
import time

BATCH = 100


def cmd(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


class Conn:
    """A minimal RESP2 client: enough for GET/SET/PING replies."""

    def __init__(self, port: int, timeout=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos : i]
                self.pos = i + 2
                return line
            self._fill()

    def reply(self):
        """One reply: bytes for bulk/simple, None for a null, Exception for an error."""
        line = self._line()
        t = line[:1]
        if t == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) - self.pos < n + 2:
                self._fill()
            v = self.buf[self.pos : self.pos + n]
            self.pos += n + 2
            return v
        if t == b"-":
            return Exception(line[1:].decode(errors="replace"))
        if t in (b"+", b":"):
            return line[1:]
        raise ValueError("unexpected reply %r" % line[:40])


def zipf_sequence(keys: int, n: int, seed: int, theta: float):
    # P(rank r) proportional to 1 / r^theta, r = 1..keys; inverse CDF by bisection
    cdf = list(itertools.accumulate(1.0 / (r**theta) for r in range(1, keys + 1)))
    total = cdf[-1]
    rnd = random.Random(seed)
    return [bisect.bisect_left(cdf, rnd.random() * total) for _ in range(n)]


def zipf(port, keys, warmup, ops, seed, value_bytes=100, theta=0.99):
    seq = zipf_sequence(keys, warmup + ops, seed, theta)
    value = b"v" * value_bytes
    c = Conn(port)
    hits = gets = errors = 0
    start = time.monotonic()
    for b in range(0, len(seq), BATCH):
        batch = [b"key:%08d" % k for k in seq[b : b + BATCH]]
        c.sock.sendall(b"".join(cmd(b"GET", k) for k in batch))
        missed = []
        for k in batch:
            r = c.reply()
            if isinstance(r, Exception):
                errors += 1
            if r is None or isinstance(r, Exception):
                missed.append(k)
        counted = b >= warmup
        if counted:
            gets += len(batch)
            hits += len(batch) - len(missed)
        if missed:
            c.sock.sendall(b"".join(cmd(b"SET", k, value) for k in missed))
            for _ in missed:
                if isinstance(c.reply(), Exception):
                    errors += 1
    secs = time.monotonic() - start
    print(
        "hits=%d gets=%d hit_ratio=%.4f errors=%d seconds=%.1f"
        % (hits, gets, hits / max(gets, 1), errors, secs)
    )


def stream(count, value_bytes):
    value = b"x" * value_bytes
    out = sys.stdout.buffer
    for b in range(0, count, 1000):
        out.write(b"".join(cmd(b"SET", b"big:%08d" % i, value) for i in range(b, min(b + 1000, count))))
    out.flush()


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def watch(port, pid, stopfile, interval=0.05):
    conn = None
    samples = failures = 0
    max_rss = 0
    lat = []
    while not os.path.exists(stopfile):
        rss = rss_kb(pid)
        if rss is None:
            break
        max_rss = max(max_rss, rss)
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = Conn(port, timeout=2.0)
            conn.sock.sendall(cmd(b"PING"))
            if conn.reply() != b"PONG":
                raise ConnectionError("no PONG")
            lat.append((time.monotonic() - t0) * 1000)
        except (OSError, ConnectionError, ValueError):
            failures += 1
            conn = None
        samples += 1
        time.sleep(interval)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    print(
        "samples=%d max_rss_kb=%d ping_failures=%d ping_max_ms=%.1f ping_p99_ms=%.1f alive=%d"
        % (samples, max_rss, failures, lat[-1] if lat else float("nan"), p99, rss_kb(pid) is not None)
    )


def main():
    a = sys.argv[1:]
    if a and a[0] == "zipf" and len(a) >= 6:
        zipf(int(a[1]), int(a[2]), int(a[3]), int(a[4]), int(a[5]),
             int(a[6]) if len(a) > 6 else 100, float(a[7]) if len(a) > 7 else 0.99)
    elif a and a[0] == "stream" and len(a) == 3:
        stream(int(a[1]), int(a[2]))
    elif a and a[0] == "watch" and len(a) >= 4:
        watch(int(a[1]), int(a[2]), a[3], float(a[4]) if len(a) > 4 else 0.05)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
