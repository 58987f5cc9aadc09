"""Query parameters of the API: read them strictly (a bad value is a 400 that says so, never a
500 or a silently ignored filter) and document them once."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

MAX_ID = 2**63 - 1  # a 64-bit primary key; larger numbers name nothing (and overflow SQLite)
HOST = OpenApiParameter("host", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                        description="only this host's (its id)")


def boolean(name, description):
    return OpenApiParameter(name, OpenApiTypes.BOOL, description=description)


def choice(name, values, description):
    return OpenApiParameter(name, OpenApiTypes.STR, enum=list(values), description=description)


def int_param(request, name):
    """The whole number ``name`` in the query string, or None when it is absent or empty."""
    values = request.query_params.getlist(name)
    if not values or values == [""]:
        return None
    if len(values) > 1 or not values[0].isdigit() or int(values[0]) > MAX_ID:
        raise ValidationError({name: ["give one whole number (an id)"]})
    return int(values[0])


def bool_param(request, name):
    values = request.query_params.getlist(name)
    if not values or values == [""]:
        return None
    if len(values) > 1 or values[0].lower() not in ("true", "false", "1", "0"):
        raise ValidationError({name: ["give true or false"]})
    return values[0].lower() in ("true", "1")


def choice_param(request, name, values):
    found = request.query_params.getlist(name)
    if not found or found == [""]:
        return None
    if len(found) > 1 or found[0] not in values:
        raise ValidationError({name: [f"choose one of: {', '.join(values)}"]})
    return found[0]


def path_id(name, description):
    """A path parameter naming an object by its id (``(?P<name>[0-9]+)`` in the route)."""
    return OpenApiParameter(name, {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                            OpenApiParameter.PATH, description=description)


def sub_object(queryset, value):
    """The object of ``queryset`` with the id ``value`` from the path, or a 404 (also for
    numbers past any id, which would overflow the database's integer)."""
    from django.http import Http404
    from django.shortcuts import get_object_or_404

    if not str(value).isdigit() or int(value) > MAX_ID:
        raise Http404
    return get_object_or_404(queryset, pk=int(value))


def json_object(request):
    """The request's body, which must be a JSON object (a list or a string is a 400)."""
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["send a JSON object"]})
    return request.data
