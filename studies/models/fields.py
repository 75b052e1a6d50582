"""The model fields reader studies share: opaque random ids (equal lengths leak nothing) and value objects
stored as JSON (the display policy, the study design)."""

import json
import secrets

from django.core.exceptions import ValidationError
from django.db import models

from studies.design import DesignError, StudyDesign
from studies.policy import DisplayPolicy, PolicyError

# Length of every opaque id (secrets.token_urlsafe(16) always gives 22 characters): equal lengths leak nothing.
OPAQUE_ID_LENGTH = 22


def new_opaque_id() -> str:
    return secrets.token_urlsafe(16)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


class ValueObjectField(models.JSONField):
    """A frozen value object with `to_dict()` / `from_dict()`, stored as a JSON object and read back as the object.
    Subclasses name the class (`value_class`) and the error its validation raises (`error_class`)."""

    value_class: type
    error_class: type

    def from_db_value(self, value, expression, connection):
        data = super().from_db_value(value, expression, connection)
        return None if data is None else self.value_class.from_dict(data)

    def to_python(self, value):
        if value is None or isinstance(value, self.value_class):
            return value
        try:
            return self.value_class.from_dict(super().to_python(value))
        except self.error_class as exc:
            raise ValidationError(str(exc)) from None

    def get_prep_value(self, value):
        if isinstance(value, self.value_class):
            value = value.to_dict()
        return super().get_prep_value(value)

    def validate(self, value, model_instance):
        if isinstance(value, self.value_class):
            value = value.to_dict()
        super().validate(value, model_instance)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return json.dumps(value.to_dict() if isinstance(value, self.value_class) else value)


class DisplayPolicyField(ValueObjectField):
    """A :class:`studies.policy.DisplayPolicy`, stored as a JSON object and read back as the frozen value object."""

    value_class = DisplayPolicy
    error_class = PolicyError


class StudyDesignField(ValueObjectField):
    """A :class:`studies.design.StudyDesign`, stored as a JSON object and read back as the frozen value object."""

    value_class = StudyDesign
    error_class = DesignError


def default_study_design() -> StudyDesign:
    return StudyDesign()
