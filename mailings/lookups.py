"""`id__any=[...]`, `phone_number__any=[...]`: membership in a list as ONE bound array on PostgreSQL.

`id__in` with a thousand ids makes a thousand placeholders that the driver
splits and binds one by one on every batch; `= ANY(%s)` binds one array. Other
databases get the plain IN list.
"""

from django.db import models
from django.db.models import Lookup


@models.IntegerField.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            # Typed like the column: the driver would send small ints as smallint[], which
            # keeps the planner off the primary key index.
            array_type = self.lhs.output_field.cast_db_type(connection)
            return f"{lhs} = ANY(%s::{array_type}[])", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


@models.CharField.register_lookup
class AnyTextOf(AnyOf):
    def get_prep_lookup(self):
        return [str(value) for value in self.rhs]
