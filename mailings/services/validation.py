"""Set, validate, save: the one way every service writes a model instance."""

from typing import Any

from django.db import models


def validated_save(instance: models.Model, fields: dict[str, Any]) -> None:
    """Set, validate, save. An existing row saves only the given fields: a column the engine
    changed meanwhile (a status, a token) is never written back from a stale copy."""
    for name, value in fields.items():
        instance._meta.get_field(name)  # an unknown name is a programming error: fail loudly
        setattr(instance, name, value)
    instance.full_clean()
    if instance.pk is None:
        instance.save()
    else:
        auto_now = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
        instance.save(update_fields=[*fields, *auto_now])
