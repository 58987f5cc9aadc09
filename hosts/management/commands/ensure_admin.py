import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from kvmweb.settings import env


class Command(BaseCommand):
    help = ("Create the admin user once. Password from KVMWEB_ADMIN_PASSWORD (or _FILE); "
            "otherwise a random one, printed this one time only.")

    def handle(self, *args, **options):
        User = get_user_model()
        name = env("KVMWEB_ADMIN_USER", "admin")
        if User.objects.filter(username=name).exists():
            return
        password = env("KVMWEB_ADMIN_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(name, "", password)
        if generated:
            self.stdout.write(f"== created admin user {name!r} with password {password!r} "
                              "(shown once; change it in the admin)")
        else:
            self.stdout.write(f"== created admin user {name!r}")
