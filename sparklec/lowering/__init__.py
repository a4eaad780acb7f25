"""Lowering: the optimised IR and a target's `TargetProfile` → one `ExecutionPlan` per pipeline.

The plan says what runs where: the runnable steps of each level and their
reduced dependencies, each step's runtime, resolved policy and `Action` (SQL
statements in its runtime's dialect with their check gate, a job's arguments,
a container, a message...), and the pipeline's
parameters, schedules, triggers and links to other pipelines.  Backends
declare their profile (`Backend.profile`); ``--emit plan`` prints the plans.
"""

from sparklec.lowering.build import build_plans, inlined_transforms, work_database
from sparklec.lowering.actions import (
    Action, Approval, CheckQuery, Checks, Container, Gate, JdbcRead, Job, Landing, Materialize, Message, Pause, Query,
    Resource, Script, Sql,
)
from sparklec.lowering.plan import ExecutionPlan, Level, PlanBranch, PlanLoop, PlanStep, PlanTask
from sparklec.lowering.profile import JOB_RUNTIMES, RUNTIME_DIALECTS, RUNTIME_NAMES, TargetProfile, defaults

__all__ = [
    "JOB_RUNTIMES", "RUNTIME_DIALECTS", "RUNTIME_NAMES", "Action", "Approval", "CheckQuery", "Checks", "Container",
    "ExecutionPlan", "Gate", "JdbcRead", "Job", "Landing", "Level", "Materialize", "Message", "Pause", "PlanBranch",
    "PlanLoop", "PlanStep", "PlanTask", "Query", "Resource", "Script", "Sql", "TargetProfile", "build_plans",
    "defaults", "inlined_transforms", "work_database",
]
