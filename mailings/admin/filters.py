"""List filters that stay fast on a million rows."""

from django.contrib import admin

from mailings.formatting import zone_label
from mailings.outcomes import OUTCOME_STATUSES
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


class MessageOutcomeFilter(admin.ChoicesFieldListFilter):
    """A message's status in the operators' words (`outcomes`): sent, failed, waiting (pending or
    sending), expired, cancelled; waiting's two statuses are listed under it.

    Waiting as one choice is offered within a mailing only: there the mailing's index leads and the
    statuses filter its rows, as for any status. Over the whole log, pending and sending each walk
    the status index in id order, but the two together would walk every message by id."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "outcome"

    def choices(self, changelist):
        chosen = set(self.lookup_val or ())
        yield {
            "selected": not chosen,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]),
            "display": "All",
        }
        labels = {"pending": "waiting: to send", "sending": "waiting: sending now"}
        within_mailing = "mailing__id__exact" in changelist.filter_params
        for outcome, statuses in OUTCOME_STATUSES.items():
            choices = [(outcome, statuses)]
            if len(statuses) > 1:
                choices = choices if within_mailing or chosen == set(statuses) else []
                choices += [(labels.get(status, status), (status,)) for status in statuses]
            for display, values in choices:
                yield {
                    "selected": chosen == set(values),
                    "query_string": changelist.get_query_string(
                        {self.lookup_kwarg: list(values)}, [self.lookup_kwarg_isnull]
                    ),
                    "display": display,
                }
