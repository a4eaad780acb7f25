"""A local Spark session answering JSON requests, one per line on stdin, one answer per line on stdout.

Run by the Python of the Spark environment (``tests/envs/spark.txt``), not the project's: requests are
``{"parse": sql}`` (Spark's own SQL parser, nothing runs), ``{"execute": [sql, ...]}``,
``{"rows": sql}`` and ``{"load": {"table": "schema.table", "path": "file.parquet"}}``.
Every answer has ``error`` (None when it went well).
"""

from __future__ import annotations

import datetime
import decimal
import json
import sys
import tempfile

from pyspark.sql import SparkSession


def value(cell: object) -> object:
    """A cell as JSON: decimals as floats, dates and times as ISO text."""
    if isinstance(cell, decimal.Decimal):
        return float(cell)
    if isinstance(cell, (datetime.date, datetime.datetime)):
        return cell.isoformat(sep=" ") if isinstance(cell, datetime.datetime) else cell.isoformat()
    return cell


def answer(spark: SparkSession, request: dict[str, object]) -> dict[str, object]:
    if "parse" in request:
        spark._jsparkSession.sessionState().sqlParser().parsePlan(request["parse"])
        return {}
    if "execute" in request:
        for statement in request["execute"]:  # type: ignore[attr-defined]
            spark.sql(statement).collect()
        return {}
    if "rows" in request:
        frame = spark.sql(str(request["rows"]))
        return {"columns": frame.columns, "rows": [[value(c) for c in row] for row in frame.collect()]}
    load = request["load"]
    assert isinstance(load, dict)
    schema = load["table"].rsplit(".", 1)[0]
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    spark.read.parquet(load["path"]).write.mode("overwrite").saveAsTable(load["table"])
    return {}


def main() -> None:
    warehouse = tempfile.mkdtemp(prefix="sparklec-spark-")
    spark = (SparkSession.builder.master("local[1]").appName("sparklec-tests")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
             .config("spark.sql.warehouse.dir", warehouse).config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
             .getOrCreate())
    spark.sparkContext.setLogLevel("OFF")
    print(json.dumps({"ready": spark.version}), flush=True)
    for line in sys.stdin:
        try:
            reply = answer(spark, json.loads(line)) | {"error": None}
        except Exception as error:  # noqa: BLE001 - every failure is the answer
            java = getattr(error, "java_exception", None)  # a failure inside Spark: its own message
            text = (java.getMessage() if java is not None else str(error)).strip()
            reply = {"error": text.splitlines()[0] if text else type(error).__name__}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
