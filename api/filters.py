"""The one filter of every list: `?name=` (case-insensitive part of the name) and `?status=` (exact), on the fields
each view names (`name_fields`, `status_filter`)."""

from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend


class NameStatusFilter(BaseFilterBackend):
    def filter_queryset(self, request, queryset, view):
        name = request.query_params.get("name", "").strip()
        fields = getattr(view, "name_fields", ())
        if name and fields:
            match = Q()
            for field in fields:
                # A field name, or a function of the text giving the condition (a relation into another app).
                match |= field(name) if callable(field) else Q(**{f"{field}__icontains": name})
            queryset = queryset.filter(match)
        status = request.query_params.get("status", "").strip()
        statuses = getattr(view, "status_filter", None)
        if status and statuses is not None:
            if status not in statuses:
                raise ValidationError({"status": f"must be one of {', '.join(statuses)}, not {status!r}"})
            condition = statuses[status]
            queryset = queryset.filter(condition() if callable(condition) else condition)
        for parameter, field in getattr(view, "extra_filters", {}).items():
            value = request.query_params.get(parameter, "").strip()
            if value:
                if field.endswith("_id") and not value.isdigit():
                    raise ValidationError({parameter: f"must be a number, not {value!r}"})
                queryset = queryset.filter(**{field: value})
        return queryset

    def get_schema_operation_parameters(self, view):
        parameters = []
        if getattr(view, "name_fields", ()):
            parameters.append(_parameter("name", "Part of the name (case-insensitive)."))
        statuses = getattr(view, "status_filter", None)
        if statuses is not None:
            parameters.append(_parameter("status", "Exact status.", enum=list(statuses)))
        for parameter, field in getattr(view, "extra_filters", {}).items():
            kind = "integer" if field.endswith("_id") else "string"
            parameters.append(_parameter(parameter, f"Only those whose {parameter} is this.", kind=kind))
        return parameters


def _parameter(name: str, description: str, *, kind: str = "string", enum=None) -> dict:
    schema = {"type": kind}
    if enum:
        schema["enum"] = enum
    return {"name": name, "required": False, "in": "query", "description": description, "schema": schema}
