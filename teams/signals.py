"""Count failed and successful logins for the login throttle (teams.throttle), and audit the
users made in Django's admin (the Teams pages and the API audit theirs in teams.services)."""

from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import throttle


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    throttle.failed(credentials.get("username"), throttle.client_address(request))


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    throttle.succeeded(user.get_username())


@receiver(post_save, sender=LogEntry)
def _admin_added_user(sender, instance, created, **kwargs):
    """Django's admin logs each object it adds (LogEntry, with who did it): a user added there
    is audited like one made on the Teams pages."""
    model = get_user_model()
    if not created or instance.action_flag != ADDITION:
        return
    content_type = instance.content_type
    if content_type is None or content_type.model_class() is not model:
        return
    new = model.objects.filter(pk=instance.object_id).first()
    if new is None:
        return
    from .services import record

    record(instance.user, "user.create", None, f"user:{new.get_username()}",
           after={"username": new.get_username(), "email": new.email,
                  "is_staff": new.is_staff, "via": "Django admin"})
