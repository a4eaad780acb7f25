"""Running generated dbt projects for real: sources loaded into DuckDB from examples/data, then `dbt build`."""

from __future__ import annotations

import json
import re
import os
from pathlib import Path
from typing import Any

import duckdb
import yaml
from jsonschema import Draft7Validator

from conftest import EXAMPLES
from sparklec.compiler.driver import load, optimise, lower
from sparklec.compiler.output import write_atomically

DATA = EXAMPLES / "data"


def deliver_changes(data: Path) -> None:
    """A second delivery into a copy of the example data: in bronze a customer changes where it lands and one
    arrives; in silver a tracked column changes and a customer arrives; an order arrives."""
    bronze = data / "bronze" / "customers_raw.csv"
    lines = bronze.read_text().splitlines()
    changed = next(i for i, line in enumerate(lines) if line.startswith("3,"))
    lines[changed] = "3,Chloe,Dupont,chloe@new.de,,de,2023-03-20,2024-02-02 08:00:00,2024-02-02"
    bronze.write_text("\n".join([*lines, "6,Fay,Wong,fay@example.org,,us,2023-06-01,2024-02-01 08:00:00,2024-02-01"])
                      + "\n")
    silver = data / "silver" / "customers.csv"
    silver.write_text(silver.read_text().replace("bob@shop.fr", "bob@shop.com")
                      + "5,eve@example.org,,GB,2023-05-01,2024-02-05 10:00:00\n")
    orders = data / "silver" / "orders.csv"
    orders.write_text(orders.read_text() + "105,3,19.90,placed,2024-01-05,2024-01-05 10:00:00\n")


def generate(paths: list[Path], out: Path, env: str | None = None, **options: str) -> dict[str, str]:
    project, _ = load(paths, env=env, environ={})
    artifacts = lower(optimise(project), "dbt", options)
    write_atomically(artifacts, out)
    return artifacts


def load_sources(project_dir: Path, database: Path, data: Path = DATA) -> None:
    """Create every source table of the project in `database` from `data/<schema>/<table>.csv`."""
    sources = yaml.safe_load((project_dir / "models" / "sources.yml").read_text())["sources"]
    connection = duckdb.connect(str(database))
    for source in sources:
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{source["schema"]}"')
        for table in source["tables"]:
            csv = next(path for schema in (source["schema"], re.sub("^(dev|qa)_", "", source["schema"]))
                       if (path := data / schema / f"{table['name']}.csv").is_file())
            connection.execute(f'CREATE OR REPLACE TABLE "{source["schema"]}"."{table["name"]}" AS '
                               "SELECT * FROM read_csv(?, header = true)", [str(csv)])
    connection.close()


def dbt(project_dir: Path, *command: str, database: Path | None = None) -> Any:
    """Run dbt in-process against the project's `local` DuckDB target (the file `database`, by default the
    project's `local.duckdb`)."""
    from dbt.cli.main import dbtRunner

    os.environ["SPARKLEC_DUCKDB_PATH"] = str(database or project_dir / "local.duckdb")
    return dbtRunner().invoke([*command, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
                               "--target", "local", "--quiet"])


def results(outcome: Any) -> dict[str, str]:
    """Node name → status of a dbt invocation."""
    return {r.node.name: str(r.status) for r in outcome.result or []}


def schema_problems(project_dir: Path) -> list[str]:
    """YAML files checked against the JSON schemas shipped in dbt-core (dbt-duckdb ignores misspelt keys)."""
    import dbt.jsonschemas

    schemas = Path(dbt.jsonschemas.__file__).parent
    resources = Draft7Validator(json.loads((schemas / "resources" / "latest.json").read_text()))
    project_schema = Draft7Validator(json.loads(max((schemas / "project").glob("*.json"),
                                                    key=lambda p: tuple(map(int, p.stem.split(".")))).read_text()))
    problems = []
    for path in sorted(project_dir.rglob("*.yml")):
        if path.name == "profiles.yml":
            continue
        validator = project_schema if path.name == "dbt_project.yml" else resources
        for error in validator.iter_errors(yaml.safe_load(path.read_text())):
            problems.append(f"{path.name}: {error.message} at {list(error.absolute_path)}")
    return problems
