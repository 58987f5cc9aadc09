"""A throw-away PostgreSQL database for the scale-out test, on the machine's Debian cluster
(started if it is not running, as scripts/postgres.sh does), with a role of its own (so the
shared `kvmweb` role's password, which ./test's PostgreSQL pass sets, is left alone), and migrated."""

import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

ROLE = "kvmweb_scaleout"


def _psql(sql, port):
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-p", str(port), "-q",
                    "-v", "ON_ERROR_STOP=1"], input=sql, text=True, check=True,
                   capture_output=True)


def cluster_port():
    """The port of the newest installed PostgreSQL's main cluster, started if needed; None
    when PostgreSQL is not installed."""
    if not shutil.which("pg_lsclusters") or not Path("/usr/lib/postgresql").exists():
        return None
    version = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: float(p.name))[-1].name
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    if f"{version} main" not in listing:
        subprocess.run(["pg_createcluster", version, "main"], check=True, capture_output=True)
    if not any(line.startswith(f"{version} main") and " online " in line
               for line in subprocess.run(["pg_lsclusters", "-h"], capture_output=True,
                                          text=True).stdout.splitlines()):
        subprocess.run(["pg_ctlcluster", version, "main", "start"], check=True)
    for line in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.splitlines():
        fields = line.split()
        if fields[:2] == [version, "main"]:
            return int(fields[2])
    return None


def create(name, env):
    """Create and migrate database ``name``; returns its URL."""
    port = cluster_port()
    password = secrets.token_hex(12)
    _psql(f"SELECT 'CREATE ROLE {ROLE} LOGIN' WHERE NOT EXISTS "
          f"(SELECT FROM pg_roles WHERE rolname = '{ROLE}')\\gexec\n"
          f"ALTER ROLE {ROLE} PASSWORD '{password}';\n"
          f"DROP DATABASE IF EXISTS {name} WITH (FORCE);\n"
          f"CREATE DATABASE {name} OWNER {ROLE};\n", port)
    url = f"postgres://{ROLE}:{password}@127.0.0.1:{port}/{name}"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT,
                   env={**env, "DATABASE_URL": url}, check=True)
    return url


def drop(name):
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);\n", cluster_port())

