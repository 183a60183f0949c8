#!/usr/bin/env python3
"""Pub/Sub load generator for benches/pubsub.sh (valkey-benchmark cannot subscribe).

Usage: pubsub_load.py HOST PORT MODE SECONDS [PAYLOAD_BYTES]

MODE fanout: 50 subscribers on one channel, one publisher.
MODE spread: 50 subscribers on 50 channels, 50 publishers (one per channel).

Publishers pipeline PUBLISH in batches of 64 and wait for each batch's replies, so
no more than that is ever in flight. Subscribers never parse: every message frame has
a known size, so they count bytes. Prints one line:
    published=<n> delivered=<n> seconds=<s> published_per_s=<r> delivered_per_s=<r>
"""

import asyncio
import sys
import time

BATCH = 64
CLIENTS = 50


def frame(*parts: bytes, push: bytes = b"*") -> bytes:
    out = push + str(len(parts)).encode() + b"\r\n"
    for p in parts:
        out += b"$" + str(len(p)).encode() + b"\r\n" + p + b"\r\n"
    return out


async def subscriber(host, port, channel, payload, counts, idx, ready):
    r, w = await asyncio.open_connection(host, port)
    w.write(frame(b"SUBSCRIBE", channel))
    await w.drain()
    confirm = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel)
    got = 0
    while got < len(confirm):
        got += len(await r.read(len(confirm) - got))
    ready.release()
    size = len(frame(b"message", channel, payload))
    total = 0
    try:
        while True:
            data = await r.read(1 << 20)
            if not data:
                break
            total += len(data)
            counts[idx] = total // size
    except asyncio.CancelledError:
        pass
    finally:
        w.close()


async def publisher(host, port, channel, payload, stop, sent, idx):
    r, w = await asyncio.open_connection(host, port)
    batch = frame(b"PUBLISH", channel, payload) * BATCH
    while not stop.is_set():
        w.write(batch)
        await w.drain()
        lines = 0
        while lines < BATCH:
            data = await r.read(1 << 16)
            if not data:
                return
            lines += data.count(b"\r\n")
        sent[idx] += BATCH
    w.close()


async def main():
    host, port, mode, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    payload = b"x" * (int(sys.argv[5]) if len(sys.argv) > 5 else 16)
    if mode == "fanout":
        sub_channels = [b"bench"] * CLIENTS
        pub_channels = [b"bench"]
    elif mode == "spread":
        sub_channels = [b"bench:%d" % i for i in range(CLIENTS)]
        pub_channels = sub_channels
    else:
        sys.exit(f"unknown mode {mode}")
    counts = [0] * len(sub_channels)
    sent = [0] * len(pub_channels)
    ready = asyncio.Semaphore(0)
    subs = [
        asyncio.create_task(subscriber(host, port, ch, payload, counts, i, ready))
        for i, ch in enumerate(sub_channels)
    ]
    for _ in subs:
        await ready.acquire()
    stop = asyncio.Event()
    start = time.monotonic()
    pubs = [
        asyncio.create_task(publisher(host, port, ch, payload, stop, sent, i))
        for i, ch in enumerate(pub_channels)
    ]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*pubs)
    published = sum(sent)
    expected = published * CLIENTS // len(pub_channels)
    # let the subscribers catch up with what was published, within reason
    deadline = time.monotonic() + 10
    while sum(counts) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - start
    delivered = sum(counts)
    for t in subs:
        t.cancel()
    await asyncio.gather(*subs, return_exceptions=True)
    print(
        f"published={published} delivered={delivered} seconds={elapsed:.2f} "
        f"published_per_s={published / elapsed:.0f} delivered_per_s={delivered / elapsed:.0f}"
    )


asyncio.run(main())
