"""Every migration of kvmweb's apps can be unapplied (Django can reverse schema operations by
itself; RunPython/RunSQL need their reverse written) and applied again, on a fresh database of
the engine the suite runs on."""

import pytest
from django.conf import settings

from tests.installs import fresh_install, manage

OURS = [app for app in settings.INSTALLED_APPS if "." not in app and app not in (
    "daphne", "rest_framework", "drf_spectacular", "drf_spectacular_sidecar", "channels")]


def test_the_apps_are_ours():
    assert {"hosts", "networks", "vms", "teams", "operations", "drift"} <= set(OURS)


UNAPPLY = """
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
for app in {apps!r}:
    # Unapplies the app's migrations and everything depending on them, newest first; a
    # RunPython/RunSQL without a reverse raises IrreversibleError here.
    call_command("migrate", app, "zero", interactive=False, verbosity=0)
left = sorted(a for a, _ in MigrationRecorder(connection).applied_migrations() if a in {apps!r})
assert not left, left
print("unapplied")
"""


def test_every_migration_is_reversible(tmp_path):
    with fresh_install(tmp_path) as env:
        manage(env, "migrate", "--noinput")
        result = manage(env, "shell", "-c", UNAPPLY.format(apps=OURS), check=False)
        assert result.returncode == 0 and "unapplied" in result.stdout, result.stderr[-3000:]
        manage(env, "migrate", "--noinput")
        assert "[ ]" not in manage(env, "showmigrations").stdout
