"""Upgrades: a database written by an earlier kvmweb (tests/upgrade/fixtures, made by
make_fixture.py at the commit its .json names) migrates to this code, keeps its data, and the
app answers on it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run(argv, env, timeout=300):
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def install_env(tmp_path, db):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    env.update(DATABASE_URL=f"sqlite:///{db}", KVMWEB_STATE_DIR=str(tmp_path / "state"))
    return env


def applied(env):
    out = run(["manage.py", "showmigrations", "--plan"], env)
    return [line for line in out.splitlines() if line.startswith("[X]")]


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.sqlite3")))
def test_it_migrates_an_older_database_and_the_app_works_on_it(tmp_path, fixture):
    facts = json.loads((FIXTURES / fixture).with_suffix(".json").read_text())
    db = tmp_path / "db.sqlite3"
    shutil.copyfile(FIXTURES / fixture, db)
    env = install_env(tmp_path, db)
    before = applied(env)
    # The fixture really is older: this code has migrations it never applied.
    assert "[ ] " in run(["manage.py", "showmigrations", "--plan"], env)

    run(["manage.py", "migrate", "--noinput"], env)
    after = applied(env)
    assert len(after) > len(before)
    assert "[ ] " not in run(["manage.py", "showmigrations", "--plan"], env)
    run(["manage.py", "makemigrations", "--check", "--dry-run"], env)

    probe = json.loads(run(["tests/install_probe.py", facts["token"]], env))
    assert probe["users"] == ["admin", "alice"]
    assert probe["hosts"]["kvm1"]["host_key"].startswith("ssh-ed25519 ")
    assert probe["networks"] == ["kvm1/default/blue"]
    assert probe["leases"] == ["default/52:54:00:aa:00:01/192.168.122.50"]
    assert probe["vms"] == ["kvm1/web1/blue"]
    assert probe["nics"] == ["web1/52:54:00:aa:00:01/network/default",
                             "web1/52:54:00:aa:00:02/bridge/br0"]
    assert probe["teams"] == {"blue": {"max_vms": 5, "max_networks": 3}}
    assert probe["members"] == ["blue/alice/operator"]
    assert probe["grants"] == ["blue/kvm1/default"]
    assert probe["audit"] == ["admin/member.add/alice"]
    assert probe["tokens"] == ["alice/ci"]
    assert len(probe["operations"]) == 1 and probe["operations"][0].startswith(
        "network.redefine/kvm1/succeeded/")
    assert all(code == 200 for code in probe["pages"].values()), probe["pages"]
    # The token issued by the old code still authenticates (alice may list her team's hosts).
    assert list(probe["token_api"].values()) == [200]
    (vm,) = probe["vm_api"].values()
    assert vm["name"] == "web1"
    assert sorted(nic["mac"] for nic in vm["nics"]) == ["52:54:00:aa:00:01", "52:54:00:aa:00:02"]
