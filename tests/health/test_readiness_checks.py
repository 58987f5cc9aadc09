"""/readyz's checks where no process needs to die: Redis down, watcher groups."""

import time

import pytest
from django.test import Client, override_settings

from health.readiness import check_watcher


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
def test_it_says_503_quickly_and_which_part_failed_when_redis_is_gone():
    started = time.monotonic()
    response = Client(REMOTE_ADDR="127.0.0.1").get("/readyz")
    assert time.monotonic() - started < 30  # bounded by the checks' 2 s timeouts
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"]
    assert not checks["redis"]["ok"] and "Connection" in checks["redis"]["detail"]
    for name in ("workers", "background_workers", "beat", "watcher"):
        assert not checks[name]["ok"] and "heartbeats unreadable" in checks[name]["detail"]


def test_every_watcher_group_must_be_seen():
    def beat(group, groups):
        return {"id": f"w{group}", "group": str(group), "groups": str(groups)}

    assert check_watcher([beat(0, 2), beat(1, 2)])[0]
    ok, detail = check_watcher([beat(1, 2)])
    assert not ok and detail == "watcher groups [0] of 2 not seen"
    assert not check_watcher([])[0]
    assert check_watcher([beat(0, 1)])[0]
