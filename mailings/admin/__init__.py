"""Operator pages. Big tables: no full COUNT(*) per page, raw ids for foreign keys.

Writes go through `services`, like every other interface, so the admin keeps the
same promises as the API (history kept, engine state untouched).

One module per page; importing them registers the pages (Django's autodiscovery
imports `mailings.admin`).
"""

from mailings.admin import clients, mailings, messages, periodic_tasks, routes, statistics, suppressions

__all__ = ["clients", "mailings", "messages", "periodic_tasks", "routes", "statistics", "suppressions"]
