"""List filters that stay fast on a million rows."""

from django.contrib import admin

from mailings.formatting import zone_label
from mailings.selectors import indexed_distinct_values

MAX_CHOICES = 200


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """The distinct values of an indexed column, found by skipping through its index (one probe
    per value) instead of a DISTINCT over every row; at most MAX_CHOICES of them, and the title
    says so when there are more. A value chosen elsewhere (a link, a bookmark) stays listed."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        using = model_admin.get_queryset(request).db
        values = indexed_distinct_values(model=model, field_name=field.name, limit=MAX_CHOICES + 1, using=using)
        if len(values) > MAX_CHOICES:
            values = values[:MAX_CHOICES]
            self.title = f"{self.title} (the first {MAX_CHOICES})"
        for chosen in self.lookup_val or ():
            if chosen not in values:
                values.append(chosen)
        self.lookup_choices = values


class ZoneValuesFilter(IndexedValuesFilter):
    """The clients' time zones, offsets shown as people read them (`UTC+03:00`, not `Etc/GMT-3`)."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] in self.lookup_choices:
                choice = {**choice, "display": zone_label(choice["display"])}
            yield choice
