"""The base form every form of the portal extends."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FieldList, FormField


def strip(value):
    return value.strip() if isinstance(value, str) else value


class BaseForm(FlaskForm):
    """Strips surrounding white space from every text field and refuses NUL bytes."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, (FieldList, FormField)):
                return unbound_field.bind(form=form, **options)  # they take no filters
            filters = unbound_field.kwargs.get("filters", [])
            if strip not in filters:
                filters = [strip, *filters]
            return unbound_field.bind(form=form, filters=filters, **options)
