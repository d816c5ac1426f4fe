"""One SparkSession (local[2], driver memory capped) for every Spark test of the run.

Spark tests fail, never skip, when Spark cannot start: the parity of the two engines is part of
the default suite, and CI installs Java 17 (.ci/run).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from recon.config import EngineConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_TEST_ENGINE = EngineConfig(
    name="spark",
    master="local[2]",
    conf={
        # the machine is shared: a small driver (local mode runs the executors inside it)
        "spark.driver.memory": "2g",
        "spark.sql.shuffle.partitions": "2",
        # The three parity profiles run the same statements, so Spark generates the same classes
        # again; its cache of compiled classes (100 by default) had evicted them: 1,816 Janino
        # compilations for the parity module, 636 with room for all (JVM CPU 100 -> 90 s, Java
        # samples -19%). A cache hit is the class compiled from the identical source: same code runs.
        "spark.sql.codegen.cache.maxEntries": "2000",
        # A test run is a short-lived JVM running many small statements: the C1 compiler alone and
        # the serial collector halve the JVM's CPU seconds (160 -> 99 s for the parity fixture's
        # three profiles, 2 cores at load 11). A young generation of 1 GB and metaspace room for the
        # generated classes keep the short-lived objects out of full collections (22 s of pauses in
        # a JFR recording of the three profiles), and C1 compiles a method after 1,000 calls rather
        # than 200 (65,000 compilations, 45 s, most of them generated code run a few times): JVM CPU
        # 170 -> 125 s at load 8-11. None of them changes what Spark computes.
        "spark.driver.extraJavaOptions": (
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xms2g -Xmn1g -XX:MetaspaceSize=512m"
            " -XX:Tier3InvocationThreshold=1000 -XX:Tier3MinInvocationThreshold=500"
            " -XX:Tier3CompileThreshold=10000"
        ),
    },
)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """The test run's SparkSession; recon's Spark sessions join it instead of starting their own."""
    from recon.engine.spark import spark_session

    try:
        session, started = spark_session(SPARK_TEST_ENGINE)
    except Exception as exc:  # Java missing, pyspark missing, no free port...
        pytest.fail(f"Spark did not start (needs Java 17 and pyspark; .ci/run installs both): {exc}")
    yield session
    if started:
        session.stop()
