"""The AWS Step Functions backend: an ASL state machine per pipeline, with CloudFormation,
Terraform, a deploy script and EventBridge rules.

The backend declares pass `series-parallel`, which the driver runs first
(ASL has sequences and parallel blocks, not DAGs); each pipeline is then
lowered level by level:
tasks to service integrations, loops to Map states, branches to Choice
states, parallel blocks to Parallel states.

Options (``-O key=value``):

- ``database`` — the Glue/Athena database that holds the views and tables
  tasks produce (default: the pipeline's name).
- ``map`` — ``inline`` (default) or ``distributed`` Map states, for loops
  over many items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sparklec.backends import Artifacts, Backend, check_options
from sparklec.backends.bundle import Argument, Readme, cell, code, layout, shell_script
from sparklec.backends.jobs import describe_jobs, job_files
from sparklec.backends.stepfunctions.asl import Machine
from sparklec.backends.stepfunctions.deploy import (
    Templates, aws_name, definition_file, resource_name, unwired_triggers,
)
from sparklec.backends.formats import json_size, json_text
from sparklec.backends.stepfunctions.integrations import PROFILE, athena_inlined, path_key
from sparklec.backends.stepfunctions.machine import READ_PARAMETERS, START, MachineBuilder
from sparklec.backends.stepfunctions.stack import Stack
from sparklec.diagnostics import Diagnostic, LoweringError, Severity
from sparklec.compiler.passes.series_parallel import SeriesParallel
from sparklec.ir.pipeline import Project
from sparklec.lowering import ExecutionPlan, PlanLoop, build_plans

OPTIONS: dict[str, tuple[str, ...] | None] = {"database": None, "map": ("inline", "distributed")}
MAX_DEFINITION_BYTES = 1_048_576
MAX_HISTORY_EVENTS = 25_000
MAX_STACK_NAME = 128
MAX_STACK_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_048_576


def lower(project: Project, options: Mapping[str, str]) -> Artifacts:
    """The files of each pipeline's state machine: in the output root for one pipeline, else per pipeline."""
    check_options("stepfunctions", options, OPTIONS)
    names = {p.name: resource_name(p.name) for p in project.pipelines}
    return layout(build_plans(project, PROFILE, options),
                  lambda plan: pipeline_files(plan, dict(options), [names[u] for u in plan.started_by if u in names]))


def pipeline_files(plan: ExecutionPlan, options: dict[str, str], upstream: list[str]
                   ) -> tuple[dict[str, str], list[Diagnostic]]:
    """The files of one pipeline, and notes on how it was fitted to Step Functions' limits."""
    builder, definition, texts, notes = fitted_machine(plan, options)
    templates = Templates(plan, builder.stack, definition, upstream, builder.parts)
    cloudformation = templates.cloudformation()
    resources = templates.resource_count
    if resources > MAX_STACK_RESOURCES or len(cloudformation.encode()) > MAX_TEMPLATE_BYTES:
        notes.append(Diagnostic(
            code="W403", severity=Severity.WARNING, span=plan.span,
            message=f"the CloudFormation stack of `{plan.pipeline}` has {resources:,} resources in "
                    f"{len(cloudformation.encode()):,} bytes; CloudFormation accepts at most "
                    f"{MAX_STACK_RESOURCES:,} resources and {MAX_TEMPLATE_BYTES:,} bytes",
            help="deploy it with main.tf (Terraform has no such limit), or split the pipeline"))
    jobs = job_files(plan)
    return {
        **texts,
        "cloudformation.yaml": cloudformation,
        "main.tf": templates.terraform(),
        "deploy.sh": deploy_script(templates),
        **jobs,
        "README.md": readme(plan, templates, jobs),
    }, notes


PART_BYTES = 700_000
"""About how big a part of a split state machine is made (well below the 1 MB limit)."""


def fitted_machine(plan: ExecutionPlan, options: dict[str, str]
                   ) -> tuple[MachineBuilder, Machine, dict[str, str], list[Diagnostic]]:
    """The state machine of `pipeline` within Step Functions' limits (its builder, definition, the text of
    each definition file, and notes): unless `-O map=...` says otherwise, loops whose items would overflow
    one execution's history run each item as a child execution (distributed Map), and a definition over
    1 MB is split into state machines the main one starts."""
    notes = []
    builder = MachineBuilder(plan, Stack(), options)
    definition = builder.definition()
    events = history_events(definition)
    loops = any(isinstance(step, PlanLoop) for step in plan.steps.walk())
    if events > MAX_HISTORY_EVENTS and loops and "map" not in options:
        builder = MachineBuilder(plan, Stack(), options, distributed=True, like=builder)
        definition = builder.definition()
        notes.append(Diagnostic(
            code="N402", severity=Severity.NOTE, span=plan.span,
            message=f"a run of `{plan.pipeline}` would write about {events:,} history events (Step Functions "
                    f"stops an execution at {MAX_HISTORY_EVENTS:,}): its loops run each item as a child execution",
            help="`-O map=inline` keeps them inline"))
    size = json_size(definition)
    if size > MAX_DEFINITION_BYTES:
        sizes, budget = builder.task_sizes(), PART_BYTES
        while True:  # nesting indents a part's states more than the sizes count: shrink the budget to fit
            builder = MachineBuilder(plan, Stack(), options, budget=budget, distributed=builder.distributed,
                                     sizes=sizes, like=builder)
            definition = builder.definition()
            largest = max(json_size(d) for d in (definition, *builder.parts.values()))
            if largest <= MAX_DEFINITION_BYTES or budget < PART_BYTES // 64:
                break
            budget = budget * PART_BYTES // largest
        notes.append(Diagnostic(
            code="N403", severity=Severity.NOTE, span=plan.span,
            message=f"the state machine of `{plan.pipeline}` would be {size:,} bytes (Step Functions accepts "
                    f"{MAX_DEFINITION_BYTES:,}): it runs as {len(builder.parts) + 1} state machines, the main one "
                    "starting the others"))
    events = history_events(definition, builder.parts.values())
    if events > MAX_HISTORY_EVENTS:
        notes.append(Diagnostic(
            code="W401", severity=Severity.WARNING, span=plan.span,
            message=f"a run of `{plan.pipeline}` writes about {events:,} history events; Step Functions stops "
                    f"an execution at {MAX_HISTORY_EVENTS:,}",
            help="compile with `-O map=distributed` (each item runs as a child execution), or split the items"
            if loops and not builder.distributed else "split the pipeline into pipelines linked by `depends_on`"))
    notes += builder.notes
    texts = {definition_file(key): json_text(d) for key, d in {"": definition, **builder.parts}.items()}
    for file, text in texts.items():
        if len(text.encode()) > MAX_DEFINITION_BYTES:
            raise LoweringError([Diagnostic(
                code="E406", message=f"the state machine {file} of `{plan.pipeline}` is {len(text.encode()):,} "
                                     f"bytes; Step Functions accepts at most {MAX_DEFINITION_BYTES:,}",
                span=plan.span, help="split the pipeline into pipelines linked by `depends_on`")])
    return builder, definition, texts, notes


EVENTS_PER_STATE = {"Task": 5, "Pass": 2, "Choice": 2, "Wait": 3, "Succeed": 2, "Fail": 1, "Parallel": 4, "Map": 4}
"""History events a state writes when it runs once (a Task: entered, scheduled, started, succeeded, exited)."""


def history_events(definition: Machine, parts: Iterable[Machine] = ()) -> int:
    """About how many history events the longest execution of a run of `definition` writes (each of its
    `parts` runs as an execution of its own): every state once (both arms of a Choice, one poll of a
    polling loop), an inline Map's states once per item of its literal list or of its parameter's default."""
    states = definition["States"]
    lists = {f"$.params{path_key(k)}": v for k, v in states[START]["Parameters"]["defaults"].items()}
    lists |= {f"$.items{path_key(k)}": v for k, v in states[READ_PARAMETERS]["Parameters"]["items"].items()}
    return max(_events(machine, lists) for machine in (definition, *parts))


def _events(machine: Machine | Mapping[str, Any], lists: dict[str, Any]) -> int:
    total = 0
    for state in machine["States"].values():
        total += EVENTS_PER_STATE.get(state["Type"], 2)
        for branch in state.get("Branches", []):
            total += _events(branch, lists)
        if "ItemProcessor" in state and state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE":
            items = lists.get(state["ItemsPath"])
            count = len(items) if isinstance(items, list) else 1
            total += count * (2 + _events(state["ItemProcessor"], lists))
    return total


def deploy_script(templates: Templates) -> str:
    name = templates.name
    stack = aws_name(name, MAX_STACK_NAME, "$env")
    lines, notes = [], ["The parameters are those of cloudformation.yaml."]
    s3_bucket = overrides = ""
    if templates.uploads:
        notes.append("S3_BUCKET names a bucket in REGION that the state machine definitions are uploaded to.")
        s3_bucket = '\n  --s3-bucket "$bucket" \\'
        overrides = '"DefinitionBucket=$bucket" '
        lines += ['bucket="${S3_BUCKET:?set S3_BUCKET to a bucket in REGION: the state machine definitions '
                  'are too big to inline in the template}"']
        lines += [f'aws s3 cp --region "$region" "$here/{file}" "s3://$bucket/{key}"'
                  for file, key in templates.uploads.items()]
    lines.append(f"""aws cloudformation deploy \\
  --region "$region" \\
  --template-file "$here/cloudformation.yaml" \\
  --stack-name "{stack}" \\
  --capabilities CAPABILITY_IAM \\{s3_bucket}
  --parameter-overrides "Environment=$env" {overrides}"$@" \\
  --tags "sparklec:pipeline={name}"

aws cloudformation describe-stacks \\
  --region "$region" \\
  --stack-name "{stack}" \\
  --query "Stacks[0].Outputs[?OutputKey=='StateMachineArn'].OutputValue" \\
  --output text""")
    return shell_script(f"Deploys the state machine of pipeline {name} with CloudFormation.",
                        [Argument("env", "ENV", "environment", choices=("dev", "qa", "prod")),
                         Argument("region", "REGION", "an AWS region", pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")],
                        "\n".join(lines), notes=notes, rest="ParameterKey=value ...")


def readme(plan: ExecutionPlan, templates: Templates, jobs: dict[str, str]) -> str:
    stack = templates.stack
    text = Readme(f"{plan.pipeline} on AWS Step Functions", f"Generated by sparklec from pipeline `{plan.pipeline}`.")
    files = ["`state_machine.json` — the state machine (Amazon States Language); `${...}` placeholders are\n"
             "  filled in at deployment from the parameters and resources below"]
    if templates.parts:
        files.append(f"`state_machine_part1.json` ... `state_machine_part{len(templates.parts)}.json` — parts of the "
                     "state machine, each a state machine of its own that the main one starts and waits for\n"
                     "  (Step Functions accepts definitions of at most 1 MB)")
    text.bullets([*files,
                  "`cloudformation.yaml` — the state machine, its IAM role (only the permissions its tasks use),\n"
                  "  log group, topics, task definitions and EventBridge rules",
                  "`main.tf` — the same with Terraform (`terraform apply -var region=eu-west-1 ...`)",
                  "`deploy.sh` — `./deploy.sh prod eu-west-1 Key=value ...` deploys the CloudFormation stack"])
    if templates.uploads:
        text.paragraph("The definitions are too big to inline in the template: `deploy.sh` uploads them to the bucket",
                       "named by `S3_BUCKET` (`S3_BUCKET=my-bucket ./deploy.sh prod eu-west-1`).")
    if stack.parameters:
        text.section("Parameters").table(["Parameter", "Default", "What it is"], [
            (code(p.name), code(p.default) if p.default else "—", cell(p.description))
            for p in stack.parameters.values()])
    describe_jobs(text, plan, jobs)
    starts = [f"schedule `{s.cron}` ({s.timezone})" for _, s in templates.schedules]
    starts += [f"EventBridge rule `{name}`" for name, _ in templates.patterns]
    if starts:
        text.section("Triggers").bullets(starts)
        if any(name.startswith("ObjectCreated") for name, _ in templates.patterns):
            text.paragraph("Object-created rules need EventBridge notifications turned on for the bucket; a run they",
                           "start gets the object's `bucket` and `key` as parameters.")
    unwired = unwired_triggers(plan)
    if unwired:
        text.paragraph(f"Not wired (Step Functions has no event source for them): {', '.join(unwired)}.")
    if stack.topics:
        text.section("Notifications", "E-mail and HTTPS channels are subscribed to their topics; subscribe other "
                     "channels", "(Slack or Teams through AWS Chatbot, approvers to the approvals topic) yourself.")
    return text.text()


backend = Backend(name="stepfunctions",
                  description="AWS Step Functions (ASL, CloudFormation, Terraform, EventBridge)", lower=lower,
                  folder=lambda project: f"step_functions/{project}",
                  passes=lambda: (SeriesParallel(athena_inlined),), profile=PROFILE)
