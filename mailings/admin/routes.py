"""Routes and providers: operators edit the routes (phone prefix or operator code to providers by
weight, and optionally a cap of the route's own on that provider in SMS parts per second); the
providers come from the environment and are listed above them, with each one's
circuit and whether its token is set (never the token).

Operators may change routes, Viewers read them (migration 0026). A worker reads the routes
again within `routing.ROUTES_REFRESH_SECONDS` of a change.
"""

from django import forms
from django.contrib import admin

from mailings import selectors
from mailings.models import Route
from mailings.providers import providers


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = ["phone_prefix", "operator_code", "provider", "weight", "parts_per_second"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A list of the configured providers; the model's own check names the field when a name
        # is unknown (e.g. a provider since removed from the environment).
        names = list(providers())
        current = self.instance.provider if self.instance.pk else ""
        if current and current not in names:
            names.append(current)
        self.fields["provider"] = forms.TypedChoiceField(
            choices=[(name, name) for name in names],
            help_text=Route._meta.get_field("provider").help_text,
        )


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    form = RouteForm
    list_display = ["route", "provider", "weight", "route_limit"]
    list_display_links = ["route"]
    list_filter = ["provider"]
    search_fields = ["phone_prefix", "operator_code", "provider"]

    @admin.display(description="route")
    def route(self, obj: Route) -> str:
        if obj.phone_prefix:
            return f"phones {obj.phone_prefix}…"
        return f"operator {obj.operator_code}" if obj.operator_code else "default route"

    @admin.display(description="parts per second")
    def route_limit(self, obj: Route) -> str:
        return str(obj.parts_per_second) if obj.parts_per_second else "provider's limit only"

    def changelist_view(self, request, extra_context=None):
        providers_status = selectors.providers_status()
        return super().changelist_view(request, {**(extra_context or {}), "providers": providers_status})
