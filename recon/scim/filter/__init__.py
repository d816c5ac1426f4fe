"""The SCIM filter language (RFC 7644 §3.4.2.2): parse, compile to DuckDB SQL, evaluate.

::

    flt = parse('emails[type eq "work" and primary eq true] and not (active eq false)')
    compiled = compile_users_filter(flt)          # SQL predicate + bound $params
    session.query(compiled.select_ids_sql(), compiled.params, {"filter_users": users})  # engine
    matches(flt, {"schemas": [...], "emails": [...]})           # the same, in Python

Invalid filters raise :class:`recon.errors.FilterSyntaxError` carrying the position of
the offending token. The meaning of each construct is in
:mod:`recon.scim.filter.semantics`; attribute names and their characteristics in
:mod:`recon.scim.filter.attributes`.
"""

from recon.errors import FilterSyntaxError
from recon.scim.filter.ast import (
    OPERATORS,
    And,
    AttrPath,
    Compare,
    Filter,
    Literal,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
    to_text,
)
from recon.scim.filter.attributes import CORE_GROUP, CORE_USER, DEFAULT_CATALOG, ENTERPRISE_USER, Catalog
from recon.scim.filter.compile import (
    CompiledFilter,
    compile_filter,
    compile_groups_filter,
    compile_users_filter,
)
from recon.scim.filter.evaluate import matches, resource_type_of
from recon.scim.filter.parser import MAX_DEPTH, parse
from recon.scim.filter.semantics import parse_datetime

__all__ = [
    "CORE_GROUP",
    "CORE_USER",
    "DEFAULT_CATALOG",
    "ENTERPRISE_USER",
    "MAX_DEPTH",
    "OPERATORS",
    "And",
    "AttrPath",
    "Catalog",
    "Compare",
    "CompiledFilter",
    "Filter",
    "FilterSyntaxError",
    "Literal",
    "Node",
    "Not",
    "Or",
    "Present",
    "ValuePath",
    "compile_filter",
    "compile_groups_filter",
    "compile_users_filter",
    "matches",
    "parse",
    "parse_datetime",
    "resource_type_of",
    "to_text",
]
