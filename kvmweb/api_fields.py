"""Serializer fields that take only the JSON type the schema documents.

DRF's own fields coerce (0 -> False, 5 -> "5"); a client generated from the schema never sends
those, and accepting them hides client bugs, so the API refuses them with a 400 instead."""

from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "give true or false"}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in ("true", "false"):  # forms, query strings
            return data.lower() == "true"
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "give a string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
