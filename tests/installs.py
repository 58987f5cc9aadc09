"""Second installations for the backup and upgrade tests: a fresh database of the engine the
suite runs on (SQLite: a new file; PostgreSQL: a new database on the same cluster) and a state
dir, handed to ``manage.py`` subprocesses through their environment."""

import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def engine():
    return "sqlite" if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else "postgresql"


def _pg_url(name):
    db = settings.DATABASES["default"]
    return (f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db.get('HOST') or 'localhost'}:"
            f"{db.get('PORT') or 5432}/{name}")


def _pg_admin(sql):
    import psycopg

    db = settings.DATABASES["default"]
    with psycopg.connect(dbname="postgres", user=db["USER"], password=db.get("PASSWORD") or "",
                         host=db.get("HOST") or "localhost", port=db.get("PORT") or 5432,
                         autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def fresh_install(tmp_path, name="install"):
    """Yields the environment of a new, empty installation (no tables yet)."""
    state = Path(tmp_path) / name
    state.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    env["KVMWEB_STATE_DIR"] = str(state)
    if engine() == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{state / 'db.sqlite3'}"
        yield env
        return
    dbname = f"kvmweb_t_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{dbname}"')
    env["DATABASE_URL"] = _pg_url(dbname)
    try:
        yield env
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def manage(env, *argv, check=True, timeout=300):
    proc = subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, (f"manage.py {' '.join(argv)} failed:\n"
                                      f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def probe(env, *tokens):
    """tests/install_probe.py's facts about the installation in ``env``."""
    import json

    proc = subprocess.run([sys.executable, "tests/install_probe.py", *tokens], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def populate_teams(admin, member, host, networks=("default",)):
    """A team with a quota, a member, a grant of ``host``, and an API token of the member's,
    through teams.services (each writes its audit entry). Returns (team, token secret)."""
    from teams import services

    team = services.create_team(admin, "blue", "the blue team")
    services.set_quotas(admin, team, {"max_vms": 5, "max_networks": 3})
    services.set_member(admin, team, member, "operator")
    services.set_grant(admin, team, host, networks=list(networks))
    _, secret = services.issue_token(member, "ci")
    return team, secret


def file_mode(path):
    return oct(Path(path).stat().st_mode & 0o777)
