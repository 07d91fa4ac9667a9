"""Slowloris against the real server (issue 13, defect 14): 1,100 connections that send their headers a byte
at a time, no token. Reports the server's open file descriptors and how many connections it still holds
over time, with the default MIXPEEK_HTTP_HEADER_TIMEOUT (10 s) and MIXPEEK_HTTP_MAX_CONNECTIONS (1,000).

``python bench/slowloris.py [--seconds 40] [--connections 1100]`` (loopback only; prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time

from common import http_server_process, sandbox_process

HEADER = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4_000


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--connections", type=int, default=1_100)
    options = parser.parse_args()
    with (
        sandbox_process(tasks=50) as api_base,
        http_server_process(api_base, MIXPEEK_MCP_AUTH_TOKEN="x" * 32) as (
            url,
            pid,
        ),
    ):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        before = open_fds(pid)
        socks: list[socket.socket] = []
        refused = 0
        for _ in range(options.connections):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                refused += 1
                continue
            sock.setblocking(False)
            socks.append(sock)
        start, samples, position = time.monotonic(), [], 0
        while time.monotonic() - start < options.seconds:
            alive = []
            for sock in socks:
                try:
                    sock.send(HEADER[position % len(HEADER) : position % len(HEADER) + 1])
                    if sock.recv(4096) == b"":
                        sock.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    sock.close()
                    continue
                alive.append(sock)
            socks, position = alive, position + 1
            samples.append({"t": round(time.monotonic() - start), "fds": open_fds(pid), "client_open": len(socks)})
            time.sleep(1.0)
        for sock in socks:
            sock.close()
    print(json.dumps({"fds_before": before, "refused_at_connect": refused, "samples": samples[::5]}, indent=1))


if __name__ == "__main__":
    main()
