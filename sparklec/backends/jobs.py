"""What runs the jobs of steps on Databricks, Glue and EMR Serverless: `sparklec-job` (`sparklec.job`), and the
files of a bundle that set it up.

Such a step starts a job with the task's arguments; the job runs `sparklec-job`, which runs the task's SQL
(or makes it over the columns its inputs have when it runs).  One job serves every task: Databricks gets a
job definition (``databricks-job.json``, for ``databricks jobs create --json @databricks-job.json``) with a
job parameter per argument, run on serverless compute with sparklec installed; Glue and EMR Serverless get
the script (``sparklec_job.py``) their jobs run, with sparklec installed as a Python module.
"""

from __future__ import annotations

from typing import Any

from sparklec import __version__
from sparklec.backends.bundle import Readme
from sparklec.backends.formats import json_text
from sparklec.lowering import ExecutionPlan, Job
from sparklec.ir.policy import SQL_KINDS

SCRIPT = "sparklec_job.py"
DATABRICKS_JOB = "databricks-job.json"
_SCRIPT_TEXT = '''\
"""Runs one sparklec task: the entry point of the Glue and EMR Serverless jobs of its steps (needs sparklec)."""
from sparklec.job import main

raise SystemExit(main())
'''


def job_files(plan: ExecutionPlan) -> dict[str, str]:
    """The files that set up the jobs `plan`'s steps start (none when no step starts one)."""
    arguments: dict[str, set[str]] = {}
    for task in plan.tasks():
        if isinstance(task.action, Job) and task.runtime is not None:
            arguments.setdefault(task.runtime, set()).update(key for key, _ in task.action.arguments)
    files = {}
    if "databricks" in arguments:
        files[DATABRICKS_JOB] = json_text(databricks_job(sorted(arguments["databricks"])))
    if arguments.keys() & {"glue", "emr_serverless"}:
        files[SCRIPT] = _SCRIPT_TEXT
    return files


def databricks_job(parameters: list[str]) -> dict[str, Any]:
    """A Jobs API job that runs `sparklec-job` with `parameters` (empty unless a run gives them), on serverless
    compute, as many runs at once as the pipelines start."""
    return {
        "name": "sparklec-job",
        "description": "Runs one task of a sparklec pipeline (the run's job parameters say which).",
        "max_concurrent_runs": 100,
        "queue": {"enabled": True},
        "parameters": [{"name": name, "default": ""} for name in parameters],
        "environments": [{"environment_key": "sparklec",
                          "spec": {"client": "2", "dependencies": [f"sparklec=={__version__}"]}}],
        "tasks": [{"task_key": "run", "environment_key": "sparklec", "python_wheel_task": {
            "package_name": "sparklec", "entry_point": "sparklec-job",
            "named_parameters": {name: f"{{{{job.parameters.{name}}}}}" for name in parameters}}}],
    }


def describe_jobs(text: Readme, plan: ExecutionPlan, files: dict[str, str]) -> None:
    """The README section on what runs the jobs `plan`'s steps start, if any."""
    runtimes = {task.runtime for task in plan.tasks() if isinstance(task.action, Job)}
    if not runtimes:
        return
    text.section("Jobs", "Tasks on a job runtime start a job with the task's arguments: `task` (its kind), `dialect`,",
                 "`spec` (the task as sparklec IR JSON), `input`, `input_2`, ... and `target` (the tables it reads",
                 "and makes), `custom` (the user transformers it names) and, when its columns are known, `sql`.")
    lines = []
    if DATABRICKS_JOB in files:
        lines.append(f"Databricks: create the job `{DATABRICKS_JOB}` defines once (`databricks jobs create --json "
                     f"@{DATABRICKS_JOB}`) and give its id to every Databricks job id; it runs `sparklec-job` on "
                     "serverless compute. A run is polled every 30 seconds until it ends.")
    if SCRIPT in files:
        lines.append(f"Glue and EMR Serverless: the job's script (the entry point) is `{SCRIPT}`, with sparklec "
                     f"installed (Glue: `--additional-python-modules sparklec=={__version__}`).")
    own = sorted(task.name for task in plan.tasks() if isinstance(task.action, Job) and task.kind not in SQL_KINDS)
    if own:
        lines.append("Ingestion and ML tasks run a job of your own, given the same arguments: "
                     + ", ".join(f"`{name}`" for name in own) + ".")
    if "lambda" in runtimes:
        lines.append("Lambda: your function gets the arguments as its event.")
    text.bullets(lines)
    text.paragraph("`sparklec-job` runs the task's `sql`; without it, it makes the task's SQL over the columns its",
                   "inputs have when it runs, checked as `sparklec run` checks them. A check whose rows fail fails the",
                   "job.")
