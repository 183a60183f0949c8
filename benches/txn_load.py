#!/usr/bin/env python3
"""MULTI/EXEC load generator for benches/compare.sh (valkey-benchmark sends one
command per request and cannot run transactions).

Usage: txn_load.py PORT CLIENTS PIPELINE TRANSACTIONS

Each of CLIENTS connections sends PIPELINE transactions per round trip, each
`MULTI`, five `SET key value` (16-byte values, keys spread over 100000 names) and
`EXEC`, and waits for their replies, until TRANSACTIONS transactions ran in all.
Every reply of such a transaction is a one-line reply (+OK, +QUEUED, *5), twelve
lines per transaction, so replies are counted by line ends, never parsed.
Prints the CSV line valkey-benchmark's --csv prints: "test","rps".
"""

import asyncio
import random
import sys
import time

LINES_PER_TXN = 12


def command(*parts: bytes) -> bytes:
    out = b"*" + str(len(parts)).encode() + b"\r\n"
    for p in parts:
        out += b"$" + str(len(p)).encode() + b"\r\n" + p + b"\r\n"
    return out


def batch(pipeline: int, rng: random.Random) -> bytes:
    out = []
    for _ in range(pipeline):
        out.append(command(b"MULTI"))
        for _ in range(5):
            key = b"key:%06d" % rng.randrange(100000)
            out.append(command(b"SET", key, b"x" * 16))
        out.append(command(b"EXEC"))
    return b"".join(out)


async def client(port: int, pipeline: int, rounds: int, seed: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(seed)
    # a few distinct batches, reused: building them is not what is measured
    batches = [batch(pipeline, rng) for _ in range(8)]
    want = LINES_PER_TXN * pipeline
    for r in range(rounds):
        writer.write(batches[r % len(batches)])
        await writer.drain()
        seen = 0
        while seen < want:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            seen += chunk.count(b"\r\n")
    writer.close()
    await writer.wait_closed()


async def main() -> None:
    port, clients, pipeline, total = (int(a) for a in sys.argv[1:5])
    rounds = max(1, total // (clients * pipeline))
    start = time.perf_counter()
    await asyncio.gather(*(client(port, pipeline, rounds, i) for i in range(clients)))
    elapsed = time.perf_counter() - start
    print(f'"MULTI/EXEC 5xSET","{rounds * clients * pipeline / elapsed:.2f}"')


if __name__ == "__main__":
    asyncio.run(main())
