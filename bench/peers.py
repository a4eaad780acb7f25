"""The peers sparklec is compared with, each run in a fresh process like sparklec itself.

    python bench/peers.py hera OUTPUT   # hera builds and serialises the WorkflowTemplate in OUTPUT

`dbt parse` runs as dbt's own CLI (see `dbt_parse_command`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml


def hera_yaml(manifests: list[dict[str, Any]]) -> str:
    """The WorkflowTemplate of `manifests` (a template and the parts it was split into) built as one with
    hera's objects and serialised by hera: every container template, and every DAG task that runs one,
    with its `depends`.  It is what a user of hera writes to get the same pods in the same order."""
    from hera.workflows import DAG, Container, Task, WorkflowTemplate

    templates = [t for manifest in manifests for t in manifest["spec"]["templates"]]
    with WorkflowTemplate(name=manifests[0]["metadata"]["name"], entrypoint="main") as workflow:
        containers = {t["name"]: Container(name=t["name"], image=t["container"]["image"],
                                           command=t["container"].get("command"), args=t["container"].get("args"))
                      for t in templates if "container" in t}
        with DAG(name="main"):
            for template in templates:
                for task in template.get("dag", {}).get("tasks", []):
                    if task.get("template") in containers:
                        Task(name=task["name"], template=containers[task["template"]], depends=task.get("depends"))
    return str(workflow.to_yaml())


def dbt_parse_command(project: Path) -> list[str]:
    """`dbt parse` of a generated dbt project against its local DuckDB target."""
    dbt = Path(sys.executable).with_name("dbt")
    return [str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project), "--target", "local",
            "--quiet", "--no-partial-parse"]


if __name__ == "__main__":
    if sys.argv[1:2] != ["hera"] or len(sys.argv) != 3:
        raise SystemExit(__doc__)
    hera_yaml([yaml.safe_load(path.read_text()) for path in sorted(Path(sys.argv[2]).glob("workflow-template*.yaml"))])
