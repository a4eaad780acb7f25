"""Lowering: the optimised IR and a target's `TargetProfile` → one `ExecutionPlan` per pipeline.

The plan says what runs where: the runnable steps of each level and their
reduced dependencies, each step's runtime, resolved policy, SQL statements in
its runtime's dialect, job arguments and check gate, and the pipeline's
parameters, schedules, triggers and links to other pipelines.  Backends
declare their profile (`Backend.profile`); ``--emit plan`` prints the plans.
"""

from sparklec.lowering.build import build_plans, inlined_transforms, work_database
from sparklec.lowering.plan import (
    CheckQuery, ExecutionPlan, Gate, Level, PlanBranch, PlanLoop, PlanStep, PlanTask,
)
from sparklec.lowering.profile import JOB_RUNTIMES, RUNTIME_DIALECTS, TargetProfile, defaults

__all__ = [
    "JOB_RUNTIMES", "RUNTIME_DIALECTS", "CheckQuery", "ExecutionPlan", "Gate", "Level", "PlanBranch", "PlanLoop",
    "PlanStep", "PlanTask", "TargetProfile", "build_plans", "defaults", "inlined_transforms", "work_database",
]
