from django.core.management.base import BaseCommand, CommandError

from hosts.backup import BackupError, backup


class Command(BaseCommand):
    help = ("Back up this installation into DIR (mode 0700): a consistent database dump "
            "(SQLite online backup / pg_dump -Fc), kvmweb's SSH key pair, the pinned known_hosts, "
            "the generated secret key and manifest.json (version, migrations, sha256 of each "
            "file).")

    def add_arguments(self, parser):
        parser.add_argument("dir")
        parser.add_argument("--force", action="store_true",
                            help="write into a directory that is not empty (replaces its backup)")
        parser.add_argument("--json", action="store_true",
                            help="also write data.json (dumpdata), which restores into the other "
                                 "database engine at the same kvmweb version")

    def handle(self, *args, **options):
        try:
            manifest = backup(options["dir"], force=options["force"], with_json=options["json"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        size = sum(f["size"] for f in manifest["files"].values())
        self.stdout.write(f"backed up {manifest['engine']} database, SSH key pair and pins of "
                          f"kvmweb {manifest['kvmweb_version'][:12]} into {options['dir']} "
                          f"({len(manifest['files'])} files, {size} bytes)")
        for note in manifest["notes"]:
            self.stdout.write(f"note: {note}")
