"""FilterSet base and filter backend for API list endpoints: an empty value of a typed filter is an error.

django-filter skips empty values (``?planned_until=``), which the published schema (a date, a number, an enum)
does not allow: a client that sends one has a bug and gets a 400 with a field message instead of every row.
"""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend


class StrictFilterSet(django_filters.FilterSet):
    def is_valid(self):
        if not self.is_bound:
            return False
        form = self.form
        form.errors  # noqa: B018  (runs full_clean)
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.CharFilter) or name not in self.data:
                continue
            if all(value == "" for value in self.data.getlist(name)) and name not in form.errors:
                form.add_error(name, "Give a value, or leave the parameter out.")
        return not form.errors


class StrictDjangoFilterBackend(DjangoFilterBackend):
    """The project's filter backend: ``filterset_fields`` build a StrictFilterSet."""

    filterset_base = StrictFilterSet
