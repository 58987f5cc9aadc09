"""The API keeps its contract: Schemathesis (all checks, fixed seed, bounded examples) against
the real ASGI server, as an admin and as a plain user, finds no server error and no answer that
the schema at /api/schema/ does not describe.

The server runs on the test database with rows made by tests/api/seed.py. Operations it starts
are enqueued on a queue no worker reads, and the seeded hosts point at loopback ports where
nothing listens: no host is ever contacted.
"""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.api.seed import seed, seed_teams
from tests.conftest import daphne

pytestmark = [pytest.mark.slow]

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20261122
# Enough for every check to see each operation several times; the admin run takes ~110 s on
# this 2-core machine, the plain user's (fuzzing and stateful phases only) ~20 s.
# Endpoints not yet brought to the contract (a path regex left out of the run); empty: every
# endpoint is checked. Add one only with the reason, and remove it once the endpoint passes.
NOT_YET = ""
RUNS = {"admin": ["--max-examples", "5"],
        "alice": ["--max-examples", "3", "--phases", "fuzzing,stateful"]}


@pytest.fixture
def server(transactional_db, tmp_path):
    """daphne on the test database, enqueuing on a queue nobody consumes."""
    queue = f"kvmweb-schemathesis-{os.getpid()}"
    log = tmp_path / "daphne.log"
    with daphne(queue, log) as url:
        yield url, queue, log
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


def tokens():
    from django.contrib.auth.models import User

    from teams.models import ApiToken

    admin = User.objects.create_superuser("admin", "", "admin-pass-123")
    alice = User.objects.create_user("alice", "", "alice-pass-123")
    return {user.username: ApiToken.issue(user, "schemathesis")[1] for user in (admin, alice)}


def schemathesis(url, schema_path, token, extra, workdir):
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG),
               "run", str(schema_path), "--url", url, "--checks", "all", "--seed", str(SEED),
               "--no-color", *(["--exclude-path-regex", NOT_YET] if NOT_YET else []), *extra]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "KVMWEB_ST_TOKEN": token})


def test_the_api_answers_as_its_schema_says(server, tmp_path):
    from django.contrib.auth.models import User

    from operations.models import Operation

    url, queue, log = server
    seed()
    keys = tokens()
    # The first team, member and pool (id 1: the coverage phase tries the smallest id) are the
    # plain user's team "web", its membership and its pool.
    seed_teams(User.objects.get(username="alice"))
    request = urllib.request.Request(f"{url}/api/schema/?format=json",
                                     headers={"Authorization": f"Token {keys['admin']}"})
    schema = json.loads(urllib.request.urlopen(request, timeout=30).read())
    assert any(path.startswith("/api/hostnet/") for path in schema["paths"])
    assert "/api/teams/{id}/members/{member_pk}/" in schema["paths"]
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(schema))

    # The plain user first: the admin's run may delete the seeded rows.
    for user in ("alice", "admin"):
        result = schemathesis(url, schema_path, keys[user], RUNS[user], tmp_path)
        assert result.returncode == 0, (
            f"Schemathesis as {user} found problems:\n{result.stdout[-20000:]}\n"
            f"{result.stderr[-3000:]}\nserver log:\n{log.read_text()[-5000:]}")
        assert "Server error" not in result.stdout

    # Nothing ran: operations were only enqueued, on a queue no worker reads.
    assert not Operation.objects.exclude(status=Operation.Status.QUEUED).exists()
