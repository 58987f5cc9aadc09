"""Limit/offset pagination that refuses bad values (400) instead of quietly ignoring them."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 1000

    def _number(self, request, name):
        values = request.query_params.getlist(name)
        if not values:
            return None
        if len(values) > 1 or not values[0].isdigit():
            raise ValidationError({name: ["give one whole number, 0 or more"]})
        return int(values[0])

    def get_limit(self, request):
        limit = self._number(request, self.limit_query_param)
        if limit is None:
            return self.default_limit
        if not 1 <= limit <= self.max_limit:
            raise ValidationError({self.limit_query_param: [
                f"the limit must be between 1 and {self.max_limit}"]})
        return limit

    def get_offset(self, request):
        return self._number(request, self.offset_query_param) or 0

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.limit_query_param:
                param["schema"].update(minimum=1, maximum=self.max_limit)
            else:
                param["schema"].update(minimum=0)
        return params
