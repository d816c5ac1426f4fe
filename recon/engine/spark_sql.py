"""The ``sql/`` files in Spark SQL: translated from DuckDB's dialect by sqlglot when loaded.

recon keeps one copy of every statement, written in DuckDB's dialect. The Spark engine runs
:func:`to_spark` of it: sqlglot (pinned) parses the DuckDB text and writes Spark SQL, and this
module then corrects what sqlglot translates without an error but with another meaning:

* ``fp64(...)``, the registered 64-bit fingerprint, becomes ``xxhash64(...)`` (Spark's ``hash``
  is 32-bit Murmur3; ``xxhash64`` is 64-bit and, like DuckDB's ``hash``, gives a constant for NULL);
* ``list[i]`` with an index that is not a constant becomes ``element_at(list, i)``: DuckDB lists
  are 1-based, Spark's ``[]`` is 0-based, and sqlglot shifts constant indexes only;
* ``HUGEINT`` becomes ``DECIMAL(38, 0)`` (Spark has no 128-bit integer);
* ``epoch(t)`` becomes microseconds / 10^6 as a double: sqlglot writes ``unix_timestamp(t)``,
  which drops the fraction of a second that DuckDB's ``epoch`` keeps;
* ``a / b`` divides as DOUBLE, as DuckDB does (Spark keeps ``x / 3600.0`` a DECIMAL).
* ``WITH x AS MATERIALIZED (...)``, DuckDB's hint to compute a common table expression once,
  loses the hint (Spark has no such syntax; :func:`spark_steps` decides what it computes once).

Parameters stay bound, never spliced: sqlglot writes DuckDB's ``$name`` as Spark's named
parameter marker ``:name``, which ``spark.sql(text, args={...})`` binds.

:func:`portability_problems` is the lint: the reasons a statement cannot run on Spark with the
same meaning (it does not parse; it is not a query; it reads files itself; it calls a function
Spark does not have; or it uses a construct whose result differs between the two engines and
that this module does not correct). A statement must be rewritten in a portable idiom in its one
file; :data:`DUCKDB_ONLY_STAGES` names the stages whose statements only ever run on DuckDB.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from recon.engine import load_sql

__all__ = [
    "DUCKDB_ONLY_FILES",
    "DUCKDB_ONLY_STAGES",
    "FINGERPRINT_ON_SPARK",
    "SPARK_STAGES",
    "SharedStep",
    "duckdb_only_reason",
    "portability_problems",
    "spark_query",
    "spark_steps",
    "to_spark",
]

FINGERPRINT_ON_SPARK = "xxhash64"
"""Spark's 64-bit hash, registered under the engine-neutral name ``fp64``."""

SPARK_STAGES = ("reconcile", "deltas", "history", "filter")
"""File-name prefixes of the statements ``--engine spark`` runs (``filter_``: deltas' filter check)."""

DUCKDB_ONLY_STAGES = ("validate", "bulk", "probe", "export", "extract")
"""Stages that have no ``--engine`` option: their statements run on the embedded DuckDB only, so
they may use DuckDB's JSON and list functions (the lint still requires that they parse)."""

DUCKDB_ONLY_FILES: Mapping[str, str] = {
    "reconcile_user_raw_values": "compared attributes read from the raw JSON (JSON arrays and types "
    "have no portable SQL): compare flattened attributes only, or use --engine duckdb",
}
"""Statements of Spark stages that only DuckDB runs, and what a user of Spark does instead."""

# Functions that exist in both engines under the same name but mean something else, or that
# DuckDB has and Spark lacks under a name Spark does have (then a missing-function check passes).
_MEANING_DIFFERS = {
    "hash": "hash() is 64-bit in DuckDB and 32-bit in Spark: fingerprints go through fp64()",
    "getvariable": "getvariable() is DuckDB-only: pass the value as a $parameter",
    "list_slice": "list slices are DuckDB-only",
    "list_extract": "list_extract() is DuckDB-only: write list[i]",
    "timezone": "timezone() is DuckDB-only: sessions run in UTC on both engines",
    "epoch_us": "epoch_us() is DuckDB-only",
    "json_structure": "json_structure() is DuckDB-only",
    "json_array_length": "json_array_length() is DuckDB-only",
    "list_select": "list_select() is DuckDB-only",
}

# Spark SQL functions that sqlglot may leave as they were written (beyond pyspark's function names).
_SPARK_EXTRA = {"xxhash64", "element_at", "unix_micros", "get_json_object", "bit_xor", "collect_list"}


@functools.cache
def _spark_functions() -> frozenset[str]:
    """Names of Spark SQL's built-in functions, as pyspark's function module spells them."""
    try:
        from pyspark.sql import functions
    except ImportError:  # the lint still runs; every unknown name is then a problem
        return frozenset(_SPARK_EXTRA)
    return frozenset(name.lower() for name in dir(functions) if not name.startswith("_")) | _SPARK_EXTRA


def _parse(text: str) -> exp.Expression:
    statements = [s for s in sqlglot.parse(text, read="duckdb", error_level=ErrorLevel.RAISE) if s]
    if len(statements) != 1:
        raise SqlglotError(f"expected one statement, found {len(statements)}")
    statement = statements[0]
    assert isinstance(statement, exp.Expression)
    return statement


def _is_constant(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) or (isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal))


def _not_null_filtered(agg: exp.Expression) -> bool:
    """Whether an aggregate sits under ``FILTER (WHERE <its argument> IS NOT NULL)``."""
    parent = agg.parent
    if not isinstance(parent, exp.Filter):
        return False
    argument = agg.this.sql("duckdb") if isinstance(agg.this, exp.Expression) else ""
    return any(
        isinstance(node.this, exp.Is)
        and isinstance(node.this.expression, exp.Null)
        and node.this.this.sql("duckdb") == argument
        for node in parent.find_all(exp.Not)
    )


def _sums_fingerprints(node: exp.Sum) -> bool:
    """Whether a sum adds fp64() values without widening them first."""
    argument = node.this
    if isinstance(argument, exp.Cast) and argument.to.this in (
        exp.DataType.Type.INT128,
        exp.DataType.Type.DECIMAL,
    ):
        return False
    return any(f.name.lower() == "fp64" for f in argument.find_all(exp.Anonymous))


def _never_null(node: exp.Expression) -> bool:
    return isinstance(node, exp.Struct | exp.Literal)


def portability_problems(text: str) -> list[str]:
    """Why the DuckDB statement ``text`` cannot run on Spark with the same meaning ([] if it can)."""
    try:
        tree = _parse(text)
    except SqlglotError as exc:
        return [f"does not parse as DuckDB SQL: {str(exc).splitlines()[0]}"]
    if not isinstance(tree, exp.Query):
        return [f"is a {type(tree).__name__.upper()} statement, not a query"]
    problems: list[str] = []
    known = _spark_functions()
    for node in tree.walk():
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
            problems.append(f"reads files itself ({node.this.sql('duckdb')}): inputs are bound by the engine")
        elif isinstance(node, exp.ReadParquet | exp.ReadCSV):
            continue  # reported with its table above
        elif isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name in _MEANING_DIFFERS:
                problems.append(_MEANING_DIFFERS[name])
            elif name != "fp64" and name not in known:
                problems.append(f"{name}() is not a Spark SQL function")
        elif isinstance(node, exp.ArrayDistinct) and not isinstance(node.this, exp.ArrayFilter):
            problems.append(
                "list_distinct()/array_distinct() drop NULLs in DuckDB and keep them in Spark: "
                "filter the NULLs first (list_filter(x, lambda v: v IS NOT NULL))"
            )
        elif isinstance(node, exp.ArrayAgg):
            if node.find(exp.Order):
                problems.append("array_agg(x ORDER BY ...)/list(x ORDER BY ...): Spark drops the order")
            elif not _never_null(node.this) and not _not_null_filtered(node):
                problems.append(
                    "array_agg()/list() keep NULLs in DuckDB and drop them in Spark: "
                    "add FILTER (WHERE x IS NOT NULL)"
                )
        elif isinstance(node, exp.Sum) and _sums_fingerprints(node):
            problems.append(
                "sum() of 64-bit fingerprints overflows BIGINT on Spark: sum(CAST(fp64(x) AS HUGEINT))"
            )
        elif isinstance(node, exp.GroupConcat) and node.find(exp.Order):
            problems.append("string_agg(x ORDER BY ...): the order is not kept on Spark")
        elif isinstance(node, exp.RegexpReplace):
            modifiers = node.args.get("modifiers")
            if not (isinstance(modifiers, exp.Literal) and "g" in modifiers.this):
                problems.append("regexp_replace() without 'g': DuckDB replaces the first match, Spark all")
        elif isinstance(node, exp.Slice):
            problems.append("list slices (x[a:b]) are DuckDB-only")
        elif isinstance(node, exp.DataType) and node.this in (
            exp.DataType.Type.UBIGINT,
            exp.DataType.Type.UINT,
            exp.DataType.Type.USMALLINT,
            exp.DataType.Type.UTINYINT,
            exp.DataType.Type.UINT128,
        ):
            problems.append(f"unsigned type {node.sql('duckdb')}: Spark has none")
    return list(dict.fromkeys(problems))


_STRFTIME = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss", "%f": "SSSSSS"}


def _java_pattern(strftime: str) -> str:
    """A DuckDB strftime format as a Spark datetime pattern, letters outside directives quoted."""
    out: list[str] = []
    i = 0
    while i < len(strftime):
        directive = strftime[i : i + 2]
        if directive in _STRFTIME:
            out.append(_STRFTIME[directive])
            i += 2
        elif strftime[i] == "%":
            raise SqlglotError(f"strftime directive {directive!r} has no Spark pattern here")
        elif strftime[i].isalpha() or strftime[i] == "'":
            out.append("''" if strftime[i] == "'" else f"'{strftime[i]}'")
            i += 1
        else:
            out.append(strftime[i])
            i += 1
    return "".join(out)


def _spark_tree(tree: exp.Expression) -> exp.Expression:
    """The corrections of the module docstring, applied to a parsed DuckDB statement."""

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
            node.set("materialized", None)  # DuckDB's planning hint; Spark has no such syntax
            return node
        if isinstance(node, exp.Anonymous) and node.name.lower() == "fp64":
            return exp.Anonymous(this=FINGERPRINT_ON_SPARK, expressions=node.expressions)
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
            index = node.expressions[0]
            if not _is_constant(index) and not isinstance(index, exp.Slice):
                return exp.Anonymous(this="element_at", expressions=[node.this, index])
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
            return exp.DataType.build("DECIMAL(38, 0)")
        if isinstance(node, exp.TimeToStr) and isinstance(node.args.get("format"), exp.Literal):
            pattern = _java_pattern(node.args["format"].this)
            return exp.Anonymous(this="date_format", expressions=[node.this, exp.Literal.string(pattern)])
        if isinstance(node, exp.Length) and isinstance(
            node.this, exp.ArrayFilter | exp.Array | exp.ArrayAgg | exp.Transform
        ):
            return exp.ArraySize(this=node.this)  # len() of a list (the SCIM filter compiler writes it)
        if isinstance(node, exp.TimeToUnix):
            micros = exp.Anonymous(this="unix_micros", expressions=[node.this])
            return exp.Div(this=exp.cast(micros, "DOUBLE"), expression=exp.Literal.number(1000000))
        if isinstance(node, exp.Div) and not isinstance(node.this, exp.Cast):
            # DuckDB's / divides as DOUBLE whatever the operands; Spark's keeps DECIMAL operands
            # (x / 3600.0) as DECIMAL
            return exp.Div(this=exp.cast(node.this, "DOUBLE"), expression=exp.cast(node.expression, "DOUBLE"))
        return node

    return tree.transform(fix)


@functools.cache
def _spark_tree_of(text: str) -> exp.Expression:
    return _spark_tree(_parse(text))


def _renamed(tree: exp.Expression, tables: Mapping[str, str]) -> exp.Expression:
    """``tree`` reading each input relation from another table name (CTE names are left alone)."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}

    def rename(node: exp.Expression) -> exp.Expression:
        if (
            isinstance(node, exp.Table)
            and not node.args.get("db")
            and node.name in tables
            and node.name not in ctes
        ):
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
            return exp.Table(this=exp.to_identifier(tables[node.name]), alias=alias)
        return node

    return tree.transform(rename)


def to_spark(text: str, tables: Mapping[str, str] | None = None) -> str:
    """The Spark SQL of one DuckDB statement, reading input ``name`` from table ``tables[name]``
    (raises :class:`sqlglot.errors.SqlglotError`)."""
    tree = _spark_tree_of(text)
    if tables:
        tree = _renamed(tree, tables)
    return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


@dataclass(frozen=True)
class SharedStep:
    """A common table expression of a statement, computed once before it: ``sql`` (Spark SQL,
    reading the parameters ``params``) becomes the view ``view``, which the statement reads."""

    view: str
    sql: str
    params: frozenset[str]


def _does_work(node: exp.Expression) -> bool:
    """Whether computing ``node`` joins, aggregates, sorts, unions or runs a subquery: work that
    Spark would repeat for every reference when it expands a common table expression."""
    if isinstance(node, exp.In) and node.args.get("query") is not None:
        return True
    return isinstance(node, exp.Join | exp.Group | exp.AggFunc | exp.Window | exp.Union | exp.Exists)


def _cte_references(node: exp.Expression, names: set[str]) -> list[str]:
    return [t.name for t in node.find_all(exp.Table) if not t.args.get("db") and t.name in names]


def _read_from(tree: exp.Expression, views: Mapping[str, str]) -> exp.Expression:
    """``tree`` with its references to the common table expressions ``views`` read from those views."""

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in views:
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
            return exp.Table(this=exp.to_identifier(views[node.name]), alias=alias)
        return node

    return tree.transform(rename)


def _with_used(query: exp.Expression, ctes: list[exp.Expression]) -> exp.Expression:
    """``query`` under a WITH of those of ``ctes`` it reads, directly or through another."""
    names = {cte.alias_or_name for cte in ctes}
    needed = set(_cte_references(query, names))
    for cte in reversed(ctes):  # a common table expression reads only those before it
        if cte.alias_or_name in needed:
            needed.update(_cte_references(cte.this, names))
    used = [cte for cte in ctes if cte.alias_or_name in needed]
    query.set("with_", exp.With(expressions=used) if used else None)
    return query


def _placeholders(tree: exp.Expression) -> frozenset[str]:
    return frozenset(node.name for node in tree.find_all(exp.Placeholder))


def spark_steps(
    text: str, tables: Mapping[str, str] | None, view_name: Callable[[str], str]
) -> tuple[list[SharedStep], str]:
    """One DuckDB statement as Spark SQL (see :func:`to_spark`), with its shared common table
    expressions taken out as steps to compute first (raises :class:`sqlglot.errors.SqlglotError`).

    Spark expands every reference to a common table expression into its own copy of the plan, so
    one that several parts of a statement read is computed again for each (reconcile's membership
    statement read each membership file about 40 times). A common table expression read more than
    once that joins, aggregates or filters through a subquery (itself or through one it reads
    that is expanded) becomes a :class:`SharedStep` under the view ``view_name(its name)``; the
    statement and later steps read that view. The result is the same relation: a common table
    expression is a name for a query, evaluated once or many times.
    """
    tree = _spark_tree_of(text).copy()
    if tables:
        tree = _renamed(tree, tables)
    with_ = tree.args.get("with_")
    if not isinstance(with_, exp.With) or with_.args.get("recursive"):
        return [], tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    ctes = list(with_.expressions)
    names = {cte.alias_or_name for cte in ctes}
    uses = Counter(_cte_references(tree, names))
    heavy: dict[str, bool] = {}
    shared: dict[str, str] = {}
    steps: list[SharedStep] = []
    kept: list[exp.Expression] = []
    for cte in ctes:
        name = cte.alias_or_name
        body = cte.this
        expanded = [ref for ref in _cte_references(body, names) if ref not in shared]
        heavy[name] = any(_does_work(node) for node in body.walk()) or any(heavy.get(r) for r in expanded)
        if uses[name] < 2 or not heavy[name]:
            kept.append(cte)
            continue
        query = _with_used(_read_from(body.copy(), shared), [_read_from(c.copy(), shared) for c in kept])
        shared[name] = view_name(name)
        steps.append(
            SharedStep(
                view=shared[name],
                sql=query.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE),
                params=_placeholders(query),
            )
        )
    if not steps:
        return [], tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    statement = tree.copy()
    statement.set("with_", None)
    statement = _with_used(_read_from(statement, shared), [_read_from(c.copy(), shared) for c in kept])
    return steps, statement.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


def duckdb_only_reason(name: str) -> str | None:
    """Why ``sql/<name>.sql`` runs on DuckDB only (None when Spark runs it)."""
    if name in DUCKDB_ONLY_FILES:
        return DUCKDB_ONLY_FILES[name]
    if name.split("_", 1)[0] in DUCKDB_ONLY_STAGES:
        return f"the {name.split('_', 1)[0]} stage runs on DuckDB only"
    return None


def spark_query(name: str) -> str:
    """``sql/<name>.sql`` in Spark SQL."""
    return to_spark(load_sql(name).query)
