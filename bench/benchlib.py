"""Helpers the benchmarks share: a minimal websocket client (what a browser does), percentiles,
and the CPU/memory of processes from /proc."""

import base64
import os
import re
import socket
import statistics
import struct
import subprocess
from pathlib import Path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebSocket:
    """The smallest RFC 6455 client that does what a browser does here (masked text frames
    out, binary and text frames in)."""

    def __init__(self, port, path, cookie):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Origin: http://127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n\r\n"
                           ).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"websocket refused: {head[:200]!r}")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("websocket closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def recv(self):
        """(opcode, payload): 1 text, 2 binary, 8 close."""
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def send_text(self, text):
        payload = text.encode()
        n = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                  bytes([0x80 | 126]) + struct.pack(">H", n))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def close(self):
        self.sock.close()


def pcts(times):
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[max(0, int(round(len(ms) * 0.95)) - 1)]


def proc_usage(pids):
    """(RSS MiB, CPU seconds, threads) summed over pids and their children."""
    rss = cpu = threads = 0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in all_descendants(pids):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        rss += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
        threads += int(re.search(r"Threads:\s+(\d+)", status).group(1))
        cpu += (int(stat[11]) + int(stat[12])) / ticks
    return rss, cpu, threads


def all_descendants(pids):
    found = list(pids)
    i = 0
    while i < len(found):
        try:
            for task in os.listdir(f"/proc/{found[i]}/task"):
                children = Path(f"/proc/{found[i]}/task/{task}/children").read_text().split()
                found.extend(int(c) for c in children if int(c) not in found)
        except FileNotFoundError:
            pass
        i += 1
    return found


def with_redis_and_lab(redis_port, prefix, keep_lab, body):
    """Run ``body(started)`` with a private Redis; afterwards stop every process it appended to
    ``started`` (by pid), the Redis, and the lab ``prefix`` unless ``keep_lab``."""
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    started = []
    try:
        body(started)
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        redis.terminate()
        redis.wait(10)
        if not keep_lab:
            from kvmweb.lab import teardown_lab

            teardown_lab(prefix=prefix)
