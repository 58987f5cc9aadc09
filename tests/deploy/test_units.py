"""The shipped systemd units and deploy/install.

`deploy/install --root DIR` stages an installation (code, /etc/kvmweb, units and their
kvmweb.target.wants links) under DIR. `systemd-analyze verify` checks the installed units, and
every enabled unit's ExecStart, read from the installed file with its Environment= and
EnvironmentFile= (as systemd expands them: specifiers, ${VAR}), runs for real from the installed
code (this checkout's venv, a test database and the test Redis) until it answers, then stops on
SIGTERM within TimeoutStopSec (10 s).

There is no systemd here (a container): the final paths inside the units (/opt/kvmweb,
/etc/kvmweb, /var/lib/kvmweb) are mapped onto DIR, and User= is not applied (we run as root).
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
FINAL_PATHS = ("/opt/kvmweb", "/etc/kvmweb", "/var/lib/kvmweb")
UNITS_DIR = "etc/systemd/system"
SHIPPED = sorted((ROOT / "deploy" / "systemd").iterdir())
ENABLED = {"kvmweb-web@8001.service", "kvmweb-web@8002.service", "kvmweb-worker-ops.service",
           "kvmweb-worker-background.service", "kvmweb-beat.service", "kvmweb-watcher.service"}


def install(dest, *args):
    return subprocess.run([str(ROOT / "deploy" / "install"), "--root", str(dest),
                           "--venv", str(ROOT / ".venv"), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    dest = tmp_path_factory.mktemp("root")
    done = install(dest)
    assert done.returncode == 0, done.stdout + done.stderr
    return dest


def to_staged(dest, text):
    """A final path (/opt/kvmweb/...) as it lies under the staging dir."""
    for final in FINAL_PATHS:
        text = re.sub(rf"(?<![\w/]){re.escape(final)}(?=/|\b|$)", str(dest) + final, text)
    return text


def read_unit(path):
    """{section: [(key, value)]} of a unit file: comments, continuation lines as systemd does."""
    sections, current, pending = {}, None, ""
    for raw in Path(path).read_text().splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def specifiers(text, unit_name):
    """systemd's specifier expansion, for the specifiers kvmweb's units may use; any other is a
    mistake in a unit (e.g. Celery's %h written without doubling the %: systemd would put the
    service user's home directory there)."""
    prefix, _, rest = unit_name.rpartition(".")[0].partition("@")
    known = {"%": "%", "i": rest, "I": rest, "n": unit_name, "N": unit_name.rsplit(".", 1)[0],
             "p": prefix or unit_name.rsplit(".", 1)[0]}

    def one(match):
        if match.group(1) not in known:
            raise AssertionError(f"{unit_name}: specifier %{match.group(1)} in {text!r}")
        return known[match.group(1)]

    return re.sub(r"%(.)", one, text)


def env_file(path):
    """KEY=value lines of an EnvironmentFile (comments and blank lines skipped)."""
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()), line
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def command_line(execstart, env, unit_name):
    """ExecStart as systemd runs it: words split, ${VAR} one word, $VAR split on spaces."""
    words = []
    for word in shlex.split(specifiers(execstart.lstrip("-@:+!"), unit_name)):
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole:
            assert whole.group(1) in env, f"{unit_name}: ${whole.group(1)} is not set"
            words.extend(env[whole.group(1)].split())
            continue

        def var(match):
            assert match.group(1) in env, f"{unit_name}: ${{{match.group(1)}}} is not set"
            return env[match.group(1)]

        words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", var, word))
    return words


def service(dest, unit_name, overrides):
    """(argv, env, cwd, kill mode) of an installed unit, its final paths mapped under dest."""
    template = re.sub(r"@[^.]+\.", "@.", unit_name)
    unit = read_unit(dest / UNITS_DIR / template)["Service"]
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    for key, value in unit:
        if key == "Environment":
            env.update(word.split("=", 1) for word in shlex.split(value))
    for key, value in unit:
        if key == "EnvironmentFile":
            # EnvironmentFile= settings override Environment= ones, as in systemd.
            env.update(env_file(to_staged(dest, value.lstrip("-"))))
    env = {key: to_staged(dest, value) for key, value in env.items()}
    env.update(overrides)
    values = dict(unit)
    argv = [to_staged(dest, word) for word in command_line(values["ExecStart"], env, unit_name)]
    cwd = to_staged(dest, values["WorkingDirectory"])
    return argv, env, cwd, values.get("KillMode", "control-group"), values


def test_install_stages_units_config_and_secrets(staged):
    units = staged / UNITS_DIR
    assert sorted(p.name for p in units.iterdir() if p.is_file()) == [p.name for p in SHIPPED]
    wants = {p.name for p in (units / "kvmweb.target.wants").iterdir()}
    assert wants == ENABLED
    assert (units / "multi-user.target.wants" / "kvmweb.target").is_symlink()
    config = env_file(staged / "etc/kvmweb/kvmweb.env")
    assert config["KVMWEB_STATE_DIR"] == "/var/lib/kvmweb"
    assert config["SECRET_KEY_FILE"] == "/etc/kvmweb/secret_key"
    assert config["SECURE_COOKIES"] == "true"
    secret = staged / "etc/kvmweb/secret_key"
    assert oct(secret.stat().st_mode & 0o777) == "0o640"
    assert len(secret.read_text().strip()) >= 50
    assert (staged / "opt/kvmweb/manage.py").is_file()
    assert not (staged / "opt/kvmweb/var").exists()  # the checkout's state is not copied

    # Again: nothing generated is replaced (the secret key, an edited configuration file).
    with open(staged / "etc/kvmweb/kvmweb.env", "a") as out:
        out.write("LOG_LEVEL=DEBUG\n")
    key = secret.read_text()
    done = install(staged)
    assert done.returncode == 0, done.stdout + done.stderr
    assert secret.read_text() == key
    assert env_file(staged / "etc/kvmweb/kvmweb.env")["LOG_LEVEL"] == "DEBUG"


def test_env_file_means_the_same_to_bash_and_systemd(staged):
    """deploy/install runs manage.py with kvmweb.env sourced by bash (set -a); the units get it
    through systemd's EnvironmentFile=: both must see the same values."""
    path = staged / "etc/kvmweb/kvmweb.env"
    dump = subprocess.run(["env", "-i", "bash", "-c", f'set -a; . "{path}"; set +a; env -0'],
                          capture_output=True, check=True).stdout.decode()
    from_bash = dict(item.split("=", 1) for item in dump.split("\0") if item)
    for name in ("PWD", "SHLVL", "_", "OLDPWD"):
        from_bash.pop(name, None)
    assert from_bash == env_file(path)
    assert len(from_bash) >= 10


def test_install_refuses_bad_option(tmp_path):
    done = install(tmp_path / "r", "--bogus")
    assert done.returncode == 2 and "unknown option --bogus" in done.stderr
    assert not (tmp_path / "r" / "etc").exists()


def test_install_workers_only_needs_the_first_machines_config(staged, tmp_path):
    second = tmp_path / "second"
    done = install(second, "--workers-only", "--prefix", "/srv/kvmweb")
    assert done.returncode == 1 and "copy /etc/kvmweb/kvmweb.env" in done.stderr
    assert list(second.iterdir()) == []  # nothing written
    (second / "etc/kvmweb").mkdir(parents=True)
    for name in ("kvmweb.env", "secret_key"):
        shutil.copy(staged / "etc/kvmweb" / name, second / "etc/kvmweb" / name)
    done = install(second, "--workers-only", "--prefix", "/srv/kvmweb")
    assert done.returncode == 1 and "copy /etc/kvmweb/database_url" in done.stderr
    (second / "etc/kvmweb/database_url").write_text("postgres://kvmweb:x@db.example.org/kvmweb\n")
    done = install(second, "--workers-only", "--prefix", "/srv/kvmweb")
    assert done.returncode == 0, done.stdout + done.stderr
    units = second / UNITS_DIR
    assert {p.name for p in (units / "kvmweb.target.wants").iterdir()} == {
        "kvmweb-worker-ops.service", "kvmweb-worker-background.service"}
    assert "ExecStart=/srv/kvmweb/.venv/bin/celery " in (units / "kvmweb-worker-ops.service").read_text()
    assert "/opt/kvmweb" not in "".join(p.read_text() for p in units.iterdir() if p.is_file())
    assert (second / "srv/kvmweb/manage.py").is_file()
    assert not (second / "etc/nginx").exists()


def test_install_puts_the_nginx_site_with_a_certificate(staged):
    site = ROOT / "deploy" / "nginx" / "kvmweb.conf"
    if not site.exists():
        pytest.skip("deploy/nginx/kvmweb.conf is not in this checkout (it comes from another branch)")
    available = staged / "etc/nginx/sites-available/kvmweb"
    assert available.read_text() == site.read_text()
    assert os.readlink(staged / "etc/nginx/sites-enabled/kvmweb") == "../sites-available/kvmweb"
    # The certificate and key the site names exist, and belong together (openssl says so).
    paths = dict(re.findall(r"^\s*(ssl_certificate(?:_key)?)\s+(\S+);", site.read_text(), re.M))
    crt, key = (staged / paths[k].lstrip("/") for k in ("ssl_certificate", "ssl_certificate_key"))
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    public = [subprocess.run(cmd, capture_output=True, text=True, check=True).stdout for cmd in (
        ["openssl", "x509", "-in", str(crt), "-noout", "-pubkey"],
        ["openssl", "pkey", "-in", str(key), "-pubout"])]
    assert public[0] == public[1] and "PUBLIC KEY" in public[0]


def verify(paths):
    return subprocess.run(["systemd-analyze", "verify", "--man=no", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def staged_units(staged, out):
    """The installed units with their final paths under staged (systemd-analyze checks that
    each command exists), the template also as the two enabled instances."""
    out.mkdir()
    for unit in (staged / UNITS_DIR).iterdir():
        if unit.is_file():
            (out / unit.name).write_text(to_staged(staged, unit.read_text()))
    for name in ("kvmweb-web@8001.service", "kvmweb-web@8002.service"):
        shutil.copy(out / "kvmweb-web@.service", out / name)
    return sorted(out.iterdir())


def test_systemd_analyze_verify(staged, tmp_path):
    units = staged_units(staged, tmp_path / "units")
    done = verify(units)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    # And it does catch a broken unit: a misspelt key, a bad value, a missing program.
    beat = tmp_path / "units" / "kvmweb-beat.service"
    good = beat.read_text()
    for bad, expected in [(good.replace("Restart=always", "Restrat=always"), "Unknown key"),
                          (good.replace("Restart=always", "Restart=alwayz"), "restart specifier"),
                          (good.replace("/.venv/bin/celery", "/.venv/bin/celeryy"), "not executable")]:
        beat.write_text(bad)
        done = verify([beat])
        assert expected in done.stderr, done.stderr


def wait_for(what, check, procs, deadline):
    while time.monotonic() < deadline:
        for name, proc, log in procs:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited ({proc.returncode}) while waiting for {what}:\n"
                            + Path(log).read_text()[-3000:])
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except OSError:
        return None


@pytest.mark.slow
def test_installed_units_start_answer_and_stop(staged, tmp_path):
    """Every enabled unit's command line, as installed, starts and answers; TERM stops it
    within TimeoutStopSec."""
    run_id = uuid.uuid4().hex[:8]
    state = staged / "var/lib/kvmweb"
    overrides = {
        # The test's Redis and a database of its own instead of this machine's PostgreSQL;
        # queues and Redis prefixes of their own, so no other test's worker takes our tasks.
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_QUEUE": f"deploytest-{run_id}",
        "KVMWEB_CHANNEL_PREFIX": f"deploytest-{run_id}",
        "KVMWEB_RATELIMIT_PREFIX": f"deploytest-rl-{run_id}",
        "KVMWEB_REAP_INTERVAL": "1",
    }
    port = free_port()
    # One web process: the template with a free port as its instance (8001/8002 may be taken).
    names = ["kvmweb-worker-ops.service", "kvmweb-worker-background.service",
             "kvmweb-beat.service", "kvmweb-watcher.service", f"kvmweb-web@{port}.service"]
    specs = {}
    for name in names:
        argv, env, cwd, kill_mode, values = service(staged, name, overrides)
        env.pop("DATABASE_URL_FILE", None)
        assert Path(cwd) == staged / "opt/kvmweb"
        assert env["KVMWEB_STATE_DIR"] == str(state)
        assert values["Restart"] in ("always", "on-failure") and values["TimeoutStopSec"] == "10"
        specs[name] = (argv, env, cwd, kill_mode)
    web_argv = specs[names[-1]][0]
    assert web_argv[1:4] == ["-m", "kvmweb.web", "--proxy-headers"] and str(port) in web_argv

    argv, env, cwd, _ = specs[names[0]]
    migrate = subprocess.run([str(staged / "opt/kvmweb/.venv/bin/python"), "manage.py", "migrate",
                              "--no-input", "-v", "0"], cwd=cwd, env=env, capture_output=True,
                             text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr

    procs = []
    try:
        for name in names:
            argv, env, cwd, _ = specs[name]
            log = tmp_path / f"{name}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # a cgroup of its own, roughly
            procs.append((name, proc, log))
        deadline = time.monotonic() + 180  # five Django processes starting on a loaded machine
        logs = {name: log for name, _, log in procs}

        def logged(name, pattern):
            return lambda: re.search(pattern, Path(logs[name]).read_text(errors="replace"))

        # web: the login page, over HTTP, from the installed code.
        status, body = wait_for("GET /login/", lambda: get(f"http://127.0.0.1:{port}/login/"),
                                procs, deadline)
        assert status == 200 and 'name="password"' in body
        # workers: ready, then they answer Celery's own ping by their unit's node names.
        node = os.uname().nodename
        for name, worker in [("kvmweb-worker-ops.service", "ops"),
                             ("kvmweb-worker-background.service", "background")]:
            wait_for(f"{name} ready", logged(name, rf"{worker}@{re.escape(node)} ready"),
                     procs, deadline)
        argv, env, cwd, _ = specs["kvmweb-worker-ops.service"]
        ping = subprocess.run([argv[0], "-A", "kvmweb", "inspect", "ping", "--timeout", "10", "-d",
                               f"ops@{node},background@{node}"], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert f"ops@{node}: OK" in ping.stdout and f"background@{node}: OK" in ping.stdout
        assert "2 nodes online" in ping.stdout, ping.stdout
        # beat: sends its schedule (the reaper, every second here) to our queue.
        wait_for("beat sending the reaper",
                 logged("kvmweb-beat.service", r"Sending due task reap-operations"), procs, deadline)
        assert (state / "celerybeat-schedule").exists() or list(state.glob("celerybeat-schedule*"))
        # ... which the operations worker runs.
        wait_for("the reaper run by the ops worker",
                 logged("kvmweb-worker-ops.service", r"operations\.tasks\.reap_operations.*succeeded"),
                 procs, deadline)
        wait_for("watcher started", logged("kvmweb-watcher.service", r"watcher \S+ started"),
                 procs, deadline)
        for name, proc, _ in procs:
            assert os.readlink(f"/proc/{proc.pid}/cwd") == str(staged / "opt/kvmweb"), name

        # Stop as systemd does: SIGTERM to the main process (KillMode=mixed) or to all of its
        # processes (control-group); each must be gone within TimeoutStopSec=10 s.
        for name, proc, _ in procs:
            kill_mode = specs[name][3]
            if kill_mode == "mixed":
                proc.send_signal(signal.SIGTERM)
            else:
                os.killpg(proc.pid, signal.SIGTERM)
        started = time.monotonic()
        slow = []
        for name, proc, log in procs:
            try:
                proc.wait(timeout=max(0.1, started + 10 - time.monotonic()))
            except subprocess.TimeoutExpired:
                slow.append(name)
        took = time.monotonic() - started
        assert not slow, f"still running {took:.1f} s after SIGTERM: {slow}"
        print(f"all {len(procs)} stopped {took:.1f} s after SIGTERM")
    finally:
        for _, proc, _ in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
