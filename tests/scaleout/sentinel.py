"""A real Redis Sentinel (redis-server --sentinel, Debian's redis-sentinel) in front of the
test Redis, for tests that prove kvmweb finds its Redis through Sentinel."""

import subprocess
import time
from pathlib import Path

import redis

from tests.conftest import free_port


def start_sentinel(directory, master_port, master_name):
    """A sentinel watching 127.0.0.1:master_port as ``master_name`` (quorum 1). Returns
    (Popen, port) once the sentinel names the master."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "sentinel.conf"  # sentinel rewrites its config: a file of its own
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                    f"sentinel monitor {master_name} 127.0.0.1 {master_port} 1\n"
                    f"sentinel down-after-milliseconds {master_name} 5000\n")
    log = open(directory / "sentinel.log", "w")
    proc = subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    client = redis.Redis(port=port, socket_timeout=2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis sentinel exited: {(directory / 'sentinel.log').read_text()}")
        try:
            addr = client.sentinel_get_master_addr_by_name(master_name)  # (b"127.0.0.1", port)
            if addr and int(addr[1]) == master_port:
                return proc, port
        except redis.exceptions.RedisError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis sentinel did not name the master within 30 s")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
