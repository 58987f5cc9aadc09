"""manage.py backup / restore without a lab: a populated installation (this test run's database
and state dir) is backed up by a manage.py process and restored into a second, empty one (a new
SQLite file, or a new PostgreSQL database in the PostgreSQL pass); everything is there."""

import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import database_url
from tests.installs import (
    engine, file_mode, fresh_install, manage, populate_teams, probe)

FIXTURE = Path(__file__).resolve().parent.parent / "upgrade" / "fixtures" / "kvmweb-c1e6c7a.sqlite3"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEJhY2t1cC10ZXN0LWhvc3Qta2V5LTAwMDAwMDAx"


@pytest.fixture
def source(transactional_db, admin_user, plain_user, tmp_path):
    """The test database with a host (its key pinned), a network, a VM with a NIC, a team, a
    member, a grant, a quota, a token and their audit entries; committed, so other processes
    see it. Returns (environment of this installation, token secret)."""
    from hosts.models import Host
    from hosts.services import public_key
    from networks.models import Network
    from operations.models import Operation
    from vms.models import Domain, DomainInterface

    public_key()  # the key pair in this run's state dir
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               host_key=HOST_KEY, host_key_fingerprint="SHA256:backup-test")
    team, secret = populate_teams(admin_user, plain_user, host)
    Network.objects.create(host=host, owner=team, name="default", uuid="u-1", xml="<network/>",
                           kind="nat", bridge="virbr0")
    vm = Domain.objects.create(host=host, owner=team, name="web1", uuid="u-2", xml="<domain/>")
    DomainInterface.objects.create(domain=vm, mac="52:54:00:aa:00:01", type="network",
                                   source="default")
    Operation.objects.create(user=admin_user, host=host, host_name="kvm1", action="host.sync",
                             status="succeeded", xml_before="<network/>")
    env = {"DATABASE_URL": database_url(), "KVMWEB_STATE_DIR": str(settings.STATE_DIR)}
    return env, secret


def source_env(env):
    import os

    return {**os.environ, **env}


def test_a_round_trip_loses_nothing(source, tmp_path):
    env, secret = source
    env = source_env(env)
    before = probe(env, secret)
    bk = tmp_path / "bk"
    out = manage(env, "backup", str(bk)).stdout
    assert "backed up" in out

    manifest = json.loads((bk / "manifest.json").read_text())
    assert manifest["engine"] == engine()
    assert manifest["migrations"]["hosts"][0] == "0001_initial"
    assert set(manifest["files"]) >= {"ssh/id_ed25519", "ssh/id_ed25519.pub", "secret_key"}
    assert file_mode(bk) == "0o700"
    assert {file_mode(bk / name) for name in [*manifest["files"], "manifest.json"]} == {"0o600"}

    with fresh_install(tmp_path, "restored") as new:
        result = manage(new, "restore", str(bk))
        assert "restored" in result.stdout
        after = probe(new, secret)
        state = Path(new["KVMWEB_STATE_DIR"])
        key = Path(settings.KVMWEB_SSH_KEY).read_bytes()
        assert (state / "ssh" / "id_ed25519").read_bytes() == key
        assert file_mode(state / "ssh" / "id_ed25519") == "0o600"
        assert (state / "secret_key").read_text() == (settings.STATE_DIR / "secret_key").read_text()
        assert file_mode(state / "secret_key") == "0o600"
    # Everything the first installation had, the second has: rows, pins, pages, the token.
    before.pop("pages"), after.pop("pages")
    assert after == before
    assert after["hosts"]["kvm1"]["host_key"] == HOST_KEY
    assert after["members"] == ["blue/alice/operator"]
    assert {"admin/team.create/blue", "admin/team.member/alice",
            "alice/token.create/token:ci"} <= set(after["audit"])
    assert list(after["token_api"].values()) == [200]


def test_it_refuses_a_non_empty_directory_and_a_used_database(source, tmp_path):
    env, _ = source
    env = source_env(env)
    bk = tmp_path / "bk"
    bk.mkdir()
    (bk / "something").write_text("x")
    refused = manage(env, "backup", str(bk), check=False)
    assert refused.returncode != 0 and "is not empty" in refused.stderr
    assert sorted(p.name for p in bk.iterdir()) == ["something"]
    manage(env, "backup", "--force", str(bk))

    # Restoring into the populated installation itself: refused, nothing touched.
    key_before = Path(settings.KVMWEB_SSH_KEY).read_bytes()
    with fresh_install(tmp_path, "used") as other:
        manage(other, "migrate", "--noinput")
        manage(other, "shell", "-c", "from hosts.services import public_key; public_key(); "
               "from django.contrib.auth.models import User; User.objects.create_user('bob')")
        other_key = (Path(other["KVMWEB_STATE_DIR"]) / "ssh" / "id_ed25519").read_bytes()
        refused = manage(other, "restore", str(bk), check=False)
        assert refused.returncode != 0
        assert "the target database is not empty (rows in auth_user)" in refused.stderr
        assert probe(other)["users"] == ["bob"]
        assert (Path(other["KVMWEB_STATE_DIR"]) / "ssh" / "id_ed25519").read_bytes() == other_key
        # --force replaces both.
        manage(other, "restore", "--force", str(bk))
        assert probe(other)["users"] == ["admin", "alice"]
        assert (Path(other["KVMWEB_STATE_DIR"]) / "ssh" / "id_ed25519").read_bytes() == key_before


def test_it_refuses_a_damaged_backup(source, tmp_path):
    env, _ = source
    bk = tmp_path / "bk"
    manage(source_env(env), "backup", str(bk))
    dump = next(p for p in bk.iterdir() if p.name.startswith("database."))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with fresh_install(tmp_path, "restored") as new:
        refused = manage(new, "restore", str(bk), check=False)
        assert refused.returncode != 0
        assert f"{dump} does not match its sha256 in the manifest" in refused.stderr
        state = Path(new["KVMWEB_STATE_DIR"])
        assert not (state / "ssh").exists()
        if engine() == "sqlite":
            assert not (state / "db.sqlite3").exists() or (state / "db.sqlite3").stat().st_size == 0


def test_it_refuses_another_engines_backup_without_json(source, tmp_path):
    env, _ = source
    bk = tmp_path / "bk"
    manage(source_env(env), "backup", str(bk))
    manifest = json.loads((bk / "manifest.json").read_text())
    manifest["engine"] = "postgresql" if engine() == "sqlite" else "sqlite"
    (bk / "manifest.json").write_text(json.dumps(manifest))
    with fresh_install(tmp_path, "restored") as new:
        refused = manage(new, "restore", str(bk), check=False)
        assert refused.returncode != 0
        assert "only a backup made with --json restores into another engine" in refused.stderr


@pytest.mark.skipif(engine() != "sqlite", reason="the fixture is a SQLite database")
def test_a_backup_of_an_older_version_is_upgraded_on_restore(tmp_path):
    """A backup taken before an upgrade (the c1e6c7a fixture's database) restores into today's
    code and is migrated by restore."""
    import os

    old = tmp_path / "old"
    (old / "ssh").mkdir(parents=True)
    shutil.copyfile(FIXTURE, old / "db.sqlite3")
    old_env = {**os.environ, "KVMWEB_STATE_DIR": str(old),
               "DATABASE_URL": f"sqlite:///{old / 'db.sqlite3'}"}
    old_env.pop("SECRET_KEY", None)
    manage(old_env, "shell", "-c", "from hosts.services import public_key; public_key()")
    bk = tmp_path / "bk"
    manage(old_env, "backup", str(bk))
    manifest = json.loads((bk / "manifest.json").read_text())
    assert "0005_nic_moved_and_neighbour_state" not in manifest["migrations"]["vms"]
    assert "drift" not in manifest["migrations"]
    with fresh_install(tmp_path, "restored") as new:
        manage(new, "restore", str(bk))
        assert "[ ]" not in manage(new, "showmigrations").stdout
        after = probe(new)
    assert after["vms"] == ["kvm1/web1/blue"]
    assert all(code == 200 for code in after["pages"].values()), after["pages"]


@pytest.mark.skipif(engine() != "postgresql", reason="needs the PostgreSQL pass")
def test_the_password_reaches_pg_dump_and_psql_only_through_the_environment(source, tmp_path):
    """A wrapper first in PATH records each PostgreSQL tool's command line (what `ps` shows to
    every user of the machine) and whether PGPASSWORD came in its environment."""
    import os

    env, _ = source
    password = settings.DATABASES["default"]["PASSWORD"]
    assert password
    bin_dir, log = tmp_path / "bin", tmp_path / "argv.log"
    bin_dir.mkdir()
    for tool in ("pg_dump", "pg_restore", "psql"):
        real = shutil.which(tool)
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\necho "{tool} $* pw=${{PGPASSWORD:+set}}" >> {log}\n'
                           f'exec {real} "$@"\n')
        wrapper.chmod(0o755)
    path = f"{bin_dir}:{os.environ['PATH']}"
    bk = tmp_path / "bk"
    manage({**source_env(env), "PATH": path}, "backup", str(bk))
    with fresh_install(tmp_path, "restored") as new:
        manage({**new, "PATH": path}, "restore", str(bk))
        assert probe(new)["hosts"]["kvm1"]["host_key"] == HOST_KEY
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["pg_dump", "pg_restore", "psql"]
    assert all(password not in line for line in lines), lines
    assert lines[0].endswith("pw=set") and lines[2].endswith("pw=set")


@pytest.mark.skipif(engine() != "postgresql", reason="needs the PostgreSQL pass")
def test_a_json_backup_restores_into_the_other_engine(source, tmp_path):
    """PostgreSQL → SQLite through --json's dumpdata (same kvmweb version)."""
    env, secret = source
    env = source_env(env)
    before = probe(env, secret)
    bk = tmp_path / "bk"
    manage(env, "backup", "--json", str(bk))
    state = tmp_path / "sqlite-install"
    state.mkdir()
    sqlite_env = {**env, "KVMWEB_STATE_DIR": str(state),
                  "DATABASE_URL": f"sqlite:///{state / 'db.sqlite3'}"}
    out = manage(sqlite_env, "restore", str(bk)).stdout
    assert "restored" in out
    after = probe(sqlite_env, secret)
    # Again over the now used database: refused, then replaced with --force (flush + load).
    refused = manage(sqlite_env, "restore", str(bk), check=False)
    assert refused.returncode != 0 and "the target database is not empty" in refused.stderr
    manage(sqlite_env, "restore", "--force", str(bk))
    again = probe(sqlite_env, secret)
    for facts in (before, after, again):
        facts.pop("pages")
    assert after == before == again
