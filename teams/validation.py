"""The rules a change to a team must follow, for the pages (teams.forms) and the API
(teams.api.serializers) alike. Each raises django's ValidationError with the message to show;
an address pool's own rules (an IPv4 network, its prefix, no overlap with another team's
pool) are AddressPool.clean."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from .models import Team


def team_name(name, team=None):
    """``name`` stripped; refused when another team has it (in any case)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("give the team a name")
    others = Team.objects.filter(name__iexact=name)
    if team is not None:
        others = others.exclude(pk=team.pk)
    if others.exists():
        raise ValidationError(f"a team named {name!r} exists already")
    return name


def member(username):
    """The user named ``username``."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError("no such user")
    return user


def names(values):
    """Names of networks or bridges a grant lets a team attach to: sorted, each once, none
    empty or holding a space or comma."""
    found = set()
    for value in values:
        value = value.strip()
        if not value or any(c.isspace() or c == "," for c in value):
            raise ValidationError(f"{value!r} is not a name (no spaces or commas)")
        found.add(value)
    return sorted(found)


def split_names(text):
    """Names from a text field of the page: separated by spaces or commas."""
    return names((text or "").replace(",", " ").split())


def new_username(username):
    """A user name nobody has (in any case), with the characters Django's users allow."""
    from django.contrib.auth.validators import UnicodeUsernameValidator

    username = (username or "").strip()
    if not username:
        raise ValidationError("give the user a name")
    UnicodeUsernameValidator()(username)
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise ValidationError(f"a user named {username!r} exists already")
    return username


def new_password(password, username=""):
    """``password`` as Django's password validators accept it (settings.AUTH_PASSWORD_VALIDATORS);
    empty: one is generated (teams.services.create_user)."""
    from django.contrib.auth.password_validation import validate_password

    if password:
        validate_password(password, get_user_model()(username=username))
    return password
