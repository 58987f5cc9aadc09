"""The OpenAPI schema kvmweb serves at /api/schema/: what every endpoint really answers.

drf-spectacular documents the success answers from the serializers; this AutoSchema adds the
error answers DRF gives everywhere (400 validation, 401 not logged in, 403 refused, 404 no such
object) so a client generated from the schema knows them, and states one rule for lists:
collection endpoints (``GET /api/<things>/``) are paginated, the sub-lists of one object
(``/api/hosts/{id}/interfaces/``, ``/api/networks/{id}/leases/``...) are plain arrays.
Endpoint-specific answers (409 conflicts) are declared with ``extend_schema`` on the view.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import mixins, serializers

from .api_params import MAX_ID

DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})

VALIDATION = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="Bad input; nothing was changed or enqueued. The body maps each field name "
                "(`non_field_errors` for the request as a whole) to a list of messages; nested "
                "fields nest the same way. Malformed bodies and query parameters answer "
                '`{"detail": "..."}`.')

ERRORS = {
    "401": OpenApiResponse(DETAIL, description="Not logged in (session or `Token` header)."),
    "403": OpenApiResponse(DETAIL, description="Logged in, but not allowed to do this."),
    "404": OpenApiResponse(DETAIL, description="No such object, or not one you can see."),
}


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """The API token header (teams.tokens), so clients and Schemathesis know the credential."""

    target_class = "teams.tokens.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token kvw_<id>_<secret>`: a token made on your user page"}


def conflict(description, **fields):
    """A 409 answer whose body has ``detail`` plus the given fields."""
    name = "".join(part.title() for part in description.split()[:3] if part.isalpha()) + "Conflict"
    body = inline_serializer(name, {"detail": serializers.CharField(), **fields})
    return OpenApiResponse(body, description=description)


def drift_fields():
    """The fields of a refusal because the object drifted (kvmweb.conflicts, the drift app)."""
    return {"drift": serializers.CharField(required=False, help_text="the drift to decide "
                                           "first: accept or re-apply it (API URL)"),
            "drift_page": serializers.CharField(required=False, help_text="the drift's page")}


DRIFTED = ("or the object was changed outside kvmweb and nobody decided yet (`drift`: accept "
           "or re-apply it first)")


class AutoSchema(SpectacularAutoSchema):
    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            schema = parameter["schema"]
            if parameter["name"] in ("id", "pk") and schema.get("type") == "integer":
                schema.update(minimum=1, maximum=MAX_ID)  # primary keys: positive, 64-bit
        return parameters

    def _is_collection(self):
        return (getattr(self.view, "action", None) == "list"
                and isinstance(self.view, mixins.ListModelMixin))

    def _is_list_view(self, serializer=None):
        if getattr(self.view, "action", None) == "list" and not self._is_collection():
            return False  # a "list" action that answers one object (e.g. the topology graph)
        return super()._is_list_view(serializer)

    def _get_paginator(self):
        if not self._is_collection():
            return None  # sub-lists of one object (and non-list answers) are not paginated
        return super()._get_paginator()

    def _takes_input(self):
        if self.method in ("POST", "PUT", "PATCH"):
            return True
        return any(p.get("in") == "query" for p in self._get_parameters())

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(ERRORS)
        if self._is_collection():
            errors.pop("404")  # a collection list; anything else may name an object
        if self._takes_input():
            errors["400"] = VALIDATION
        for code, answer in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(answer, code, direction=direction)
        return responses
