"""Backup and restore of an installation: the database, kvmweb's SSH key pair, the pinned
known_hosts, the generated secret key, and a manifest (``manage.py backup DIR`` /
``manage.py restore DIR``).

Here because the hosts app owns what is lost for good without a backup: the key pair every host
trusts (``hosts.services.public_key``) and the pins. The pins live in the database
(``Host.host_key``); ``STATE_DIR/ssh/known_hosts`` is rewritten from them before each connection
(``kvmweb.virt.ssh.SSHSetup.pin``) and is copied only so a restored install matches byte for byte.

The database dump is the engine's own consistent snapshot: SQLite's online backup API (a copy
of the whole file as of one transaction, while others write), PostgreSQL's ``pg_dump -Fc`` (one
snapshot). The connection comes from settings and reaches ``pg_dump``/``psql`` through the
environment (PGPASSWORD…), never the command line (``ps`` shows command lines to every user).
``--json`` adds ``dumpdata`` JSON that restores into the other engine, at the same kvmweb version.
"""

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_DUMP = "database.sqlite3"
PG_DUMP = "database.pgdump"
JSON_DUMP = "data.json"
# Rows migrate itself writes into an empty database: they do not make it "in use".
SEEDED_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


class BackupError(Exception):
    """Something the user must fix; the message says what (nothing was changed)."""


def engine():
    name = settings.DATABASES["default"]["ENGINE"]
    if name.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in name:
        return "postgresql"
    raise BackupError(f"database engine {name} is not supported by backup (SQLite, PostgreSQL)")


def _pg_env():
    """libpq's environment for the configured database (the password never on a command line)."""
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGUSER": db.get("USER") or "",
           "PGHOST": db.get("HOST") or "", "PGPORT": str(db.get("PORT") or "")}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return {k: v for k, v in env.items() if v != "" or not k.startswith("PG")}


def _run(argv, **kwargs):
    try:
        proc = subprocess.run(argv, capture_output=True, **kwargs)
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]} is not installed (Debian: apt-get install "
                          "postgresql-client)") from exc
    if proc.returncode != 0:
        err = proc.stderr
        err = err.decode(errors="replace") if isinstance(err, bytes) else err
        raise BackupError(f"{argv[0]} failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    return proc


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version():
    """The git commit of this checkout, when it is one."""
    try:
        out = subprocess.run(["git", "-C", str(settings.BASE_DIR), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def applied_migrations():
    """{app: [migration names]} as recorded in the database."""
    applied = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def disk_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    disk = {}
    for app, name in sorted(loader.disk_migrations):
        disk.setdefault(app, []).append(name)
    return disk


def key_paths():
    key = Path(settings.KVMWEB_SSH_KEY)
    return key, key.with_name(key.name + ".pub")


def known_hosts_path():
    return Path(settings.STATE_DIR) / "ssh" / "known_hosts"


def secret_key_path():
    """The generated secret key file, when settings read the key from it (not from the
    environment: then it lives in the admin's secret store, not in ours)."""
    path = Path(settings.STATE_DIR) / "secret_key"
    if path.exists() and path.read_text().strip() == settings.SECRET_KEY:
        return path
    return None


def database_in_use():
    """Table names holding rows beyond what ``migrate`` writes itself (empty: a fresh install)."""
    tables = set(connection.introspection.table_names())
    used = []
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = model._meta.db_table
            if table in SEEDED_TABLES or table not in tables or table in used:
                continue
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            if cursor.fetchone():
                used.append(table)
    return used


# -- backup --------------------------------------------------------------------------------------

def backup(target, force=False, with_json=False):
    """Write a backup into ``target`` (created 0700). Returns the manifest."""
    target = Path(target)
    kind = engine()
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise BackupError(f"{target} is not empty; give an empty or new directory, or --force "
                          "to overwrite the backup in it")
    key, pub = key_paths()
    if not key.exists():
        raise BackupError(f"kvmweb's SSH key {key} does not exist: nothing to back up "
                          "(is KVMWEB_STATE_DIR / KVMWEB_SSH_KEY the installation's?)")
    old_umask = os.umask(0o077)  # every file we write is the owner's only
    try:
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o700)
        (target / "ssh").mkdir(exist_ok=True)
        for stale in (MANIFEST, SQLITE_DUMP, PG_DUMP, JSON_DUMP):
            (target / stale).unlink(missing_ok=True)
        if kind == "sqlite":
            _sqlite_dump(target / SQLITE_DUMP)
            files = {"database": SQLITE_DUMP}
        else:
            _run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f",
                  str(target / PG_DUMP)], env=_pg_env())
            files = {"database": PG_DUMP}
        if with_json:
            with open(target / JSON_DUMP, "w") as fh:
                call_command("dumpdata", natural_foreign=True, natural_primary=True,
                             exclude=["contenttypes", "auth.permission", "sessions"],
                             indent=None, stdout=fh)
            files["json"] = JSON_DUMP
        shutil.copyfile(key, target / "ssh" / "id_ed25519")
        files["ssh_key"] = "ssh/id_ed25519"
        if pub.exists():
            shutil.copyfile(pub, target / "ssh" / "id_ed25519.pub")
            files["ssh_key_pub"] = "ssh/id_ed25519.pub"
        if known_hosts_path().exists():
            shutil.copyfile(known_hosts_path(), target / "ssh" / "known_hosts")
            files["known_hosts"] = "ssh/known_hosts"
        secret = secret_key_path()
        if secret:
            shutil.copyfile(secret, target / "secret_key")
            files["secret_key"] = "secret_key"
        for name in files.values():
            (target / name).chmod(0o600)
        manifest = {
            "format": FORMAT,
            "kvmweb_version": _version(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "engine": kind,
            "migrations": applied_migrations(),
            "roles": files,
            "files": {name: {"sha256": _sha256(target / name),
                             "size": (target / name).stat().st_size}
                      for name in sorted(files.values())},
            "notes": _notes(secret),
        }
        tmp = target / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
        os.replace(tmp, target / MANIFEST)  # last: a backup without a manifest is unfinished
    finally:
        os.umask(old_umask)
    return manifest


def _sqlite_dump(dest):
    src = sqlite3.connect(_ro_uri(settings.DATABASES["default"]["NAME"]), uri=True, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)  # one consistent snapshot, even while workers write
    finally:
        dst.close()
        src.close()


def _ro_uri(path):
    """A read-only SQLite URI for a file (percent-encoded: a path may hold '?' or '#')."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def _notes(secret):
    notes = []
    if not secret:
        notes.append("SECRET_KEY comes from the environment and is not in this backup: give the "
                     "restored install the same one (or everyone signs in again)")
    from hosts.models import Host  # the app's own model; the backup is the hosts app's

    for name, path in Host.objects.exclude(key_path="").values_list("name", "key_path"):
        notes.append(f"host {name} uses the key file {path}, which is not in this backup")
    return notes


# -- restore -------------------------------------------------------------------------------------

def read_manifest(source):
    """The manifest, after checking every file it lists is there with its size and sha256."""
    source = Path(source)
    path = source / MANIFEST
    if not path.exists():
        raise BackupError(f"{source} holds no {MANIFEST}: not a kvmweb backup, or an "
                          "unfinished one")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} has format {manifest.get('format')!r}; this kvmweb reads "
                          f"{FORMAT}")
    for name, facts in manifest["files"].items():
        file = source / name
        if not file.is_file():
            raise BackupError(f"{file} is listed in the manifest but missing")
        if file.stat().st_size != facts["size"] or _sha256(file) != facts["sha256"]:
            raise BackupError(f"{file} does not match its sha256 in the manifest (damaged or "
                              "changed since the backup)")
    return manifest


def restore(source, force=False, stdout=None):
    """Put a backup back into this installation (its settings' database and state dir), then
    migrate. Returns the notes to show. Everything is checked before anything is changed."""
    source = Path(source)
    manifest = read_manifest(source)
    roles = manifest["roles"]
    kind = engine()
    use_json = manifest["engine"] != kind
    if use_json:
        if "json" not in roles:
            raise BackupError(f"the backup is of a {manifest['engine']} database and this install "
                              f"uses {kind}; only a backup made with --json restores into another "
                              "engine")
        if manifest["migrations"] != disk_migrations():
            raise BackupError("a --json backup restores into another engine only at the same "
                              "kvmweb version (its migrations differ from this code's): restore it "
                              f"into {manifest['engine']} first, upgrade, then back up again")
    used = database_in_use()
    if used and not force:
        raise BackupError("the target database is not empty (rows in " + ", ".join(used[:5]) +
                          "); restore puts a backup into an empty installation: give a new "
                          "database, or --force to replace everything in this one")
    key, pub = key_paths()
    if (key.exists() and key.read_bytes() != (source / roles["ssh_key"]).read_bytes()
            and not force):
        raise BackupError(f"{key} holds another SSH key pair; restore would replace it (every "
                          "host that trusts it would refuse kvmweb): --force to replace it")

    # Stage the files beside their destinations first, so only renames are left afterwards.
    staged = []
    placements = [("ssh_key", key, 0o600), ("ssh_key_pub", pub, 0o644),
                  ("known_hosts", known_hosts_path(), 0o600)]
    notes = list(manifest.get("notes", []))
    if "secret_key" in roles:
        if os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE"):
            notes.append("SECRET_KEY is set in the environment: the backup's secret_key was not "
                         "put back (sessions made before the backup need a new sign-in)")
        else:
            placements.append(("secret_key", Path(settings.STATE_DIR) / "secret_key", 0o600))
    try:
        for role, dest, mode in placements:
            if role not in roles:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = dest.with_name(dest.name + ".restore-tmp")
            shutil.copyfile(source / roles[role], tmp)
            tmp.chmod(mode)
            staged.append((tmp, dest))

        if use_json:
            _restore_json(source / roles["json"], force)
        elif kind == "sqlite":
            _restore_sqlite(source / roles["database"])
        else:
            _restore_pg(source / roles["database"])
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, dest in staged:
        os.replace(tmp, dest)
    connection.close()
    call_command("migrate", interactive=False, verbosity=1, stdout=stdout)
    return notes


def _restore_sqlite(dump):
    name = Path(settings.DATABASES["default"]["NAME"])
    check = sqlite3.connect(_ro_uri(dump), uri=True)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{dump} fails SQLite's integrity check")
    finally:
        check.close()
    connection.close()
    tmp = name.with_name(name.name + ".restore-tmp")
    shutil.copyfile(dump, tmp)
    tmp.chmod(0o600)
    for suffix in ("-wal", "-shm", "-journal"):  # the replaced database's, not the backup's
        name.with_name(name.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, name)  # atomic: the old database or the backup, never half of each


def _restore_pg(dump):
    """Drop what is there and load the dump in one transaction (psql --single-transaction):
    a failure leaves the database as it was."""
    sql = _run(["pg_restore", "--no-owner", "--no-privileges", "-f", "-", str(dump)]).stdout
    drops = "".join(f"DROP TABLE IF EXISTS {connection.ops.quote_name(t)} CASCADE;\n"
                    for t in connection.introspection.table_names())
    connection.close()
    _run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"],
         input=drops.encode() + sql, env=_pg_env())


def _restore_json(data, force):
    """Another engine's backup: migrate the empty database, then load the rows (atomic)."""
    from django.db import transaction

    call_command("migrate", interactive=False, verbosity=0)
    with transaction.atomic():
        if force:
            call_command("flush", interactive=False, verbosity=0)
        call_command("loaddata", str(data), verbosity=0)
