"""The dbt backend: a dbt project of CTE models, sources, tests, macros and exposures.

Options (``-O key=value``):

- ``fuse`` — ``true`` (default): a transformer chain is one model with a CTE
  per step; ``false``: one model per step, for comparison.
- ``intermediate`` — how relations that are not written to a table are
  materialised: ``view`` (default), ``table`` or ``ephemeral``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sparklec.backends import LANDED, Artifacts, Backend, check_options
from sparklec.backends.dbt.models import PROFILE, nodes
from sparklec.backends.dbt.project import ProjectFiles
from sparklec.backends.dbt.sql import INTERMEDIATE
from sparklec.ir.pipeline import Project
from sparklec.lowering import Landing, build_plans

OPTIONS: dict[str, tuple[str, ...] | None] = {"fuse": ("true", "false"), "intermediate": INTERMEDIATE}


def lower(project: Project, options: Mapping[str, str]) -> Artifacts:
    """The files of a dbt project for `project`."""
    check_options("dbt", options, OPTIONS)
    name = re.sub(r"[^a-z0-9_]+", "_", project.name.lower()).strip("_")
    name = name if name and name[0].isalpha() else f"sparklec_{name}"
    plans = build_plans(project, PROFILE)
    found = nodes(plans)
    files = ProjectFiles(plans, found, name, fuse=options.get("fuse", "true") == "true",
                         intermediate=options.get("intermediate", "view"))
    left_out = {(pipeline, task.name): LANDED if isinstance(task.action, Landing) else "not run by dbt"
                for pipeline, task in found.skipped}
    return Artifacts(files.build(), notes=files.notes, left_out=left_out)


backend = Backend(name="dbt", description="a dbt project (dbt-core 1.11; Databricks and DuckDB profiles)",
                  lower=lower, profile=PROFILE)
