"""Staff in the groups the migrations make, as the admin tests have them."""

from tests.admin.conftest import operator, viewer  # noqa: F401
