#!/usr/bin/env python3
"""Opens N Server-Sent Event streams to kiln and holds them open.

Usage: sse_hold.py URL TOKEN N SECONDS
Prints "open N" once every stream got its response headers, then holds them for SECONDS
(reading whatever arrives) and exits. Only the standard library: asyncio sockets.
"""
import asyncio
import sys
import urllib.parse


async def hold(host, port, path, token, ready, seconds):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream answered {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    ready.append(1)
    try:
        await asyncio.wait_for(reader.read(-1), timeout=seconds)
    except asyncio.TimeoutError:
        pass
    writer.close()


async def main():
    url, token, n, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    u = urllib.parse.urlsplit(url)
    ready = []
    tasks = [asyncio.create_task(hold(u.hostname, u.port, u.path, token, ready, seconds))
             for _ in range(n)]
    while len(ready) < n:
        await asyncio.sleep(0.05)
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()
    print(f"open {len(ready)}", flush=True)
    await asyncio.gather(*tasks)


asyncio.run(main())
