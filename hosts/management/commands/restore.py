from django.core.management.base import BaseCommand, CommandError

from hosts.backup import BackupError, restore


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into this installation (its DATABASE_URL "
            "and KVMWEB_STATE_DIR), which must be empty, then migrate (a backup from an older "
            "kvmweb is upgraded). Stop kvmweb's services first.")

    def add_arguments(self, parser):
        parser.add_argument("dir")
        parser.add_argument("--force", action="store_true",
                            help="replace a database that holds data, and an SSH key pair that "
                                 "differs from the backup's")

    def handle(self, *args, **options):
        try:
            notes = restore(options["dir"], force=options["force"], stdout=self.stdout)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {options['dir']}")
        for note in notes:
            self.stdout.write(f"note: {note}")
