"""The Spark engine: :class:`SparkEngineSession`, a :class:`~recon.engine.Session` on Apache Spark.

For directories and histories that outgrow one machine (``--engine spark``, ``[engine]`` in
recon.toml). It runs the same ``sql/`` files as DuckDB, translated to Spark SQL by
:mod:`recon.engine.spark_sql` when loaded; parameters are bound as Spark named parameters.

* **Inputs.** Each statement run binds its inputs as temporary views under names of its own
  (``_in<n>_<input>``) and the statement's table references are renamed to them in its syntax
  tree, so no later run can change an earlier result. Parquet files of the layout are read as
  they are: a Hive-partitioned read is a list of files plus ``basePath`` (the folder above the
  first ``key=value`` folder), partition columns read as strings (type inference off) and cast
  to the declared types; paths may be any URI Spark reads (``s3a://``, ``abfss://``, ``gs://``,
  ``dbfs:/``). Small Arrow or polars tables are copied in.
* **Shared parts of a statement.** Spark expands each reference to a common table expression
  into its own copy of the plan; one that several parts of a statement read and that joins or
  aggregates is computed once first, as a checkpointed view (:func:`~recon.engine.spark_sql.spark_steps`),
  kept as long as the statement's result needs it.
* **Results** are lazy DataFrames; :meth:`keep` checkpoints one (``localCheckpoint``: computed once,
  kept in the executors' block stores, spilling to disk, lineage cut). Only small results come
  back to Python (:meth:`rows`, :meth:`arrow`); :meth:`batches` streams partition by partition.
* **Writing.** :meth:`write_parquet` has Spark write the table as one Parquet file into a
  temporary folder beside ``path`` (micro-second UTC timestamps), then streams that file's row
  groups through recon's row-group writer into ``path`` with exactly the declared schema: the
  same rows in the same order give the same bytes as on DuckDB, and only one row group at a time
  passes through the driver. The caller publishes ``path`` by rename (:meth:`recon.store.Store.publishing`).
* **Fingerprints**: ``fp64`` is Spark's ``xxhash64`` (see :mod:`recon.engine.spark_sql`).

A session made by :func:`spark_session` owns its SparkSession and stops it when closed; a
session given an existing SparkSession (a notebook, a Databricks job, the test suite's shared
one) leaves it running and drops only the views it made.
"""

from __future__ import annotations

import functools
import itertools
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from recon.config.toml import EngineConfig
from recon.engine import Input, Parquet, Session, Table, load_sql, prepared_call
from recon.engine.spark_sql import DUCKDB_ONLY_FILES, portability_problems, spark_steps
from recon.errors import ConfigError, SqlFileError, UsageError
from recon.row_groups import ROW_GROUP_ROWS, write_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql import SparkSession as PySparkSession

__all__ = ["SparkEngineSession", "SparkTable", "spark_session"]

DEFAULT_CONF: Mapping[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    # partition values are read as text and cast to the declared types (a cycle id is not a date)
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
_LOCAL_CONF: Mapping[str, str] = {
    # local mode: few cores, small shuffles; a cluster keeps its own defaults unless conf says so
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "2g",
}
_SPARK_TYPES = {"VARCHAR": "STRING", "TEXT": "STRING", "BIGINT": "BIGINT", "INTEGER": "INT", "DATE": "DATE"}
_BATCH_ROWS = 16_384


def spark_session(engine: EngineConfig | None = None) -> tuple[PySparkSession, bool]:
    """The SparkSession to run on, and whether it was started here (then closing stops it).

    An active session (a notebook's, a Databricks job's, the test suite's) is joined as it is;
    otherwise one is started from ``[engine]``: ``remote`` (Spark Connect) or ``master``
    (default ``local[2]``), recon's settings, then the ``conf`` pairs. Raises
    :class:`ConfigError` when pyspark is not installed (``pip install "recon[spark]"``).
    """
    engine = engine or EngineConfig(name="spark")
    try:
        from pyspark.sql import SparkSession as PySparkSession
    except ImportError as exc:
        raise ConfigError(
            'the Spark engine needs pyspark: pip install "recon[spark]" (or use --engine duckdb)'
        ) from exc
    active = PySparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = PySparkSession.builder.appName("recon")
    conf = dict(DEFAULT_CONF)
    local = False
    if engine.remote:
        builder = builder.remote(engine.remote)
    else:
        master = engine.master or "local[2]"
        builder = builder.master(master)
        local = master.startswith("local")
        if local:
            conf.update(_LOCAL_CONF)
    conf.update(engine.conf)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if local:
        spark.sparkContext.setLogLevel("ERROR")
    return spark, True


class SparkTable(Table):
    """A Spark DataFrame of one :class:`SparkEngineSession`."""

    def __init__(self, session: SparkEngineSession, frame: DataFrame) -> None:
        self.session = session
        self.frame = frame

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)


def hive_base(paths: list[str]) -> str:
    """The folder above the first ``key=value`` folder of the paths (Spark's ``basePath``)."""
    bases = set()
    for path in paths:
        scheme, sep, rest = path.rpartition("://") if "://" in path else ("", "", path)
        parts = PurePosixPath(rest).parts
        cut = next((i for i, part in enumerate(parts) if "=" in part), len(parts) - 1)
        base = str(PurePosixPath(*parts[:cut])) if cut else "/"
        bases.add(f"{scheme}{sep}{base}")
    if len(bases) != 1:
        raise SqlFileError(f"Hive-partitioned files under more than one root: {', '.join(sorted(bases))}")
    return bases.pop()


class SparkEngineSession(Session):
    """A :class:`~recon.engine.Session` on a SparkSession (see the module)."""

    def __init__(self, spark: PySparkSession | None = None, engine: EngineConfig | None = None) -> None:
        if spark is None:
            spark, self._owns = spark_session(engine)
        else:
            self._owns = False
        self.spark = spark
        self._counter = itertools.count(1)
        self._views: list[str] = []
        self._kept: list[DataFrame] = []
        self._run_id = uuid.uuid4().hex[:8]

    # -- binding -------------------------------------------------------------------------
    def _own(self, table: Table) -> DataFrame:
        if not isinstance(table, SparkTable) or table.session is not self:
            raise ValueError("a table of another session")
        return table.frame

    def _frame(self, source: Input) -> DataFrame:
        if isinstance(source, Table):
            return self._own(source)
        if isinstance(source, Parquet):
            return self._read_parquet(source)
        if isinstance(source, pl.DataFrame):
            source = source.to_arrow()
        if isinstance(source, pa.Table):
            return self._from_arrow(source)
        raise TypeError(f"cannot bind {type(source).__name__} as a Spark input")

    def _from_arrow(self, table: pa.Table) -> DataFrame:
        # large_string (polars) and string views have the same Spark type as string
        fields = [
            pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema
        ]
        return self.spark.createDataFrame(table.cast(pa.schema(fields)))

    def _read_parquet(self, files: Parquet) -> DataFrame:
        paths = [str(p) for p in files.paths]
        reader = self.spark.read
        if files.hive_partitioning:
            reader = reader.option("basePath", hive_base(paths))
        frame = reader.parquet(*paths)
        if files.row_numbers:
            from pyspark.sql import functions as F

            frame = frame.select("*", F.col("_metadata.row_index").alias("file_row_number"))
        if files.hive_partitioning:
            from pyspark.sql import functions as F

            keys = {part.split("=", 1)[0] for p in paths for part in PurePosixPath(p).parts if "=" in part}
            data = [F.col(c) for c in frame.columns if c not in keys]
            partition_columns = [
                F.col(name).cast(_SPARK_TYPES.get(kind.upper(), kind)).alias(name)
                for name, kind in files.hive_types.items()
            ]
            frame = frame.select(*data, *partition_columns)
        return frame

    def _view(self, label: str, source: Input) -> str:
        view = f"_in{next(self._counter)}_{label}_{self._run_id}"
        self._frame(source).createOrReplaceTempView(view)
        self._views.append(view)
        return view

    def _run_text(
        self, duckdb_sql: str, params: Mapping[str, Any], inputs: Mapping[str, Input]
    ) -> tuple[Table, list[DataFrame]]:
        """The statement's result, and the checkpoints of its shared steps (which it reads)."""
        views = {name: self._view(name, source) for name, source in inputs.items()}
        number = next(self._counter)
        steps, text = spark_steps(duckdb_sql, views, lambda cte: f"_cte{number}_{cte}_{self._run_id}")
        args = _args(params) if params else {}
        shared: list[DataFrame] = []
        for step in steps:
            step_args = {key: value for key, value in args.items() if key in step.params}
            frame = self.spark.sql(step.sql, args=step_args) if step_args else self.spark.sql(step.sql)
            # computed once here, for every part of the statement that reads it
            kept = frame.localCheckpoint(eager=True)
            kept.createOrReplaceTempView(step.view)
            self._views.append(step.view)
            shared.append(kept)
        frame = self.spark.sql(text, args=args) if args else self.spark.sql(text)
        return SparkTable(self, frame), shared

    # -- the Session interface -----------------------------------------------------------
    def run(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Input] | None = None,
        *,
        keep: bool = False,
    ) -> Table:
        sql, given, bound = prepared_call(name, params, inputs)
        reason = _refusal(name)
        if reason:
            raise UsageError(f"sql/{name}.sql does not run on Spark: {reason}")
        result, shared = self._run_text(sql.query, given, bound)
        if not keep:
            self._kept.extend(shared)  # read whenever the lazy result is
            return result
        kept = self.keep(result)
        for frame in shared:  # the kept result no longer reads them
            frame.unpersist()
        return kept

    def query(self, sql: str, params: Mapping[str, Any] | None, inputs: Mapping[str, Input]) -> Table:
        problems = portability_problems(sql)
        if problems:
            raise UsageError(
                "this query cannot run on Spark with the same meaning ("
                + "; ".join(problems)
                + "): use --engine duckdb"
            )
        result, shared = self._run_text(sql, dict(params or {}), inputs)
        self._kept.extend(shared)
        return result

    def keep(self, table: Table) -> Table:
        kept = self._own(table).localCheckpoint(eager=True)
        self._kept.append(kept)
        return SparkTable(self, kept)

    def release(self, table: Table) -> None:
        frame = self._own(table)
        for index, kept in enumerate(self._kept):
            if kept is frame:
                del self._kept[index]
                frame.unpersist()
                return

    def bind(self, source: Input) -> Table:
        if isinstance(source, Table):
            self._own(source)
            return source
        return SparkTable(self, self._frame(source))

    def union_all(self, first: Table, *more: Table) -> Table:
        frame = self._own(first)
        for other in more:
            frame = frame.union(self._own(other))
        return SparkTable(self, frame)

    def count(self, table: Table) -> int:
        return int(self._own(table).count())

    def rows(self, table: Table) -> list[dict[str, Any]]:
        # through Arrow: timestamps come back labelled UTC, as DuckDB gives them
        return list(self.arrow(table).to_pylist())

    def tuples(self, table: Table) -> list[tuple[Any, ...]]:
        return [tuple(row.values()) for row in self.rows(table)]

    def arrow(self, table: Table) -> pa.Table:
        return _utc(self._own(table).toArrow())

    def polars(self, table: Table) -> pl.DataFrame:
        frame = pl.from_arrow(self.arrow(table))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def batches(self, table: Table, rows: int) -> Iterator[pa.RecordBatch]:
        with tempfile.TemporaryDirectory(prefix="recon-spark-") as folder:
            written = self._write_one_file(self._own(table), Path(folder) / "out")
            yield from _read_batches(written, rows)

    def write_parquet(self, table: Table, path: Path, schema: pa.Schema) -> int:
        folder = path.parent / f".{path.name}.spark-{uuid.uuid4().hex}"
        try:
            written = self._write_one_file(self._own(table), folder)
            return write_batches(_read_batches(written, ROW_GROUP_ROWS), path, schema)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _write_one_file(self, frame: DataFrame, folder: Path) -> Path:
        """``frame`` written by Spark as one Parquet file in ``folder`` (order kept); its path."""
        frame.coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(str(folder))
        parts = sorted(folder.glob("part-*.parquet"))
        if len(parts) != 1:
            raise SqlFileError(f"Spark wrote {len(parts)} files into {folder}, expected one")
        return parts[0]

    def worker(self) -> Session:
        # a SparkSession takes statements from several threads; the worker shares it, not its views
        return SparkEngineSession(self.spark)

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        return (PySparkException, Py4JJavaError)

    def memory_limit_bytes(self) -> float:
        # Spark spills per task and reports no single budget: keep intermediate results (keep()),
        # which the executors hold in memory and spill to disk
        return float("inf")

    def close(self) -> None:
        catalog = self.spark.catalog
        for view in self._views:
            catalog.dropTempView(view)
        for frame in self._kept:
            frame.unpersist()
        self._views.clear()
        self._kept.clear()
        if self._owns:
            self.spark.stop()


@functools.cache
def _refusal(name: str) -> str | None:
    """Why Spark does not run ``sql/<name>.sql`` (None when it does)."""
    if name in DUCKDB_ONLY_FILES:
        return DUCKDB_ONLY_FILES[name]
    problems = portability_problems(load_sql(name).query)
    return "; ".join(problems) + " (use --engine duckdb)" if problems else None


def _args(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as Spark literals (a list becomes an array; a tuple too)."""
    from pyspark.sql import functions as F

    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, list | tuple):
            out[key] = F.array(*[F.lit(v) for v in value]) if value else F.array().cast("array<string>")
        else:
            out[key] = F.lit(value)
    return out


def _read_batches(path: Path, rows: int) -> Iterator[pa.RecordBatch]:
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=rows):
        yield _utc_batch(batch)


def _utc_type(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(kind):
        return pa.timestamp("us", tz="UTC")
    return kind


def _utc_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, _utc_type(f.type), f.nullable) for f in schema])


def _utc(table: pa.Table) -> pa.Table:
    return table.cast(_utc_schema(table.schema))


def _utc_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    return batch.cast(_utc_schema(batch.schema))
