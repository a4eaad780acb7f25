"""The Step Functions backend, checked by AWS's own tools: every definition passes asl-validator, every
template cfn-lint, every main.tf parses, every deploy.sh passes shellcheck, and only real integrations
appear."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import hcl2
import pytest
import sqlglot
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import COMPILED_SOURCES, EXAMPLES, compile_sources
from sparklec.compiler.driver import load, lower, optimise
from sparklec.compiler.output import write_atomically
from sparklec.ir import Project
from sparklec.testing import projects
from stepfunctions_harness import (
    INTEGRATIONS, asl_problems, cfn_lint_problems, load as load_json, resources, shell_problems, states,
)

SOURCES = COMPILED_SOURCES


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example (and both shared configs), compiled once into one folder per source."""
    return compile_sources(tmp_path_factory.mktemp("stepfunctions"), "stepfunctions")


def test_every_definition_passes_asl_validator(generated: Path) -> None:
    definitions = sorted(generated.rglob("state_machine.json"))
    assert len(definitions) >= len(SOURCES)
    assert asl_problems(definitions) == ""


def test_every_template_passes_cfn_lint(generated: Path) -> None:
    assert cfn_lint_problems(sorted(generated.rglob("cloudformation.yaml"))) == ""


def test_every_terraform_file_parses_and_loads_the_same_definition(generated: Path) -> None:
    paths = sorted(generated.rglob("main.tf"))
    assert len(paths) >= len(COMPILED_SOURCES), paths
    for path in paths:
        parsed = hcl2.load(path.open())
        definition = parsed["locals"][0]["definition"]
        assert 'file("${path.module}/state_machine.json")' in definition, path
        placeholders = set(re.findall(r"\$\{([A-Za-z0-9_.]+)\}", (path.parent / "state_machine.json").read_text()))
        assert {p for p in placeholders if f"$${{{p}}}" not in definition} == set(), path
        machines = [r for r in parsed["resource"] if '"aws_sfn_state_machine"' in r]
        assert len(machines) == 1


def test_every_deploy_script_passes_shellcheck(generated: Path) -> None:
    paths = sorted(generated.rglob("deploy.sh"))
    assert len(paths) >= len(COMPILED_SOURCES), paths
    for path in paths:
        assert shell_problems(path) == "", path


def test_only_real_integrations(generated: Path) -> None:
    used: set[str] = set()
    for path in generated.rglob("state_machine.json"):
        used |= resources(load_json(path))
    assert len(used) >= 5, used
    assert used <= INTEGRATIONS, used - INTEGRATIONS
    assert not any("databricks:runNow" in r for r in used)


def test_every_athena_query_is_athena_sql(generated: Path) -> None:
    """What Athena runs parses as Athena SQL (a `States.Format` query with its `{}` taken as a value)."""
    queries = []
    for path in generated.rglob("state_machine*.json"):
        text = path.read_text()
        queries += [json.loads(f'"{m}"') for m in re.findall(r'"QueryString": "((?:[^"\\]|\\.)*)"', text)]
        queries += [json.loads(f'"{m}"').split("', ")[0].removeprefix("States.Format('").replace("\\'", "'")
                    for m in re.findall(r'"QueryString.\$": "((?:[^"\\]|\\.)*)"', text)]
    assert len(queries) >= 10
    for query in queries:
        sqlglot.parse_one(query.replace("{}", "x"), read="athena")


def test_cloudformation_embeds_the_definition_and_substitutes_every_placeholder(generated: Path) -> None:
    for path in generated.rglob("cloudformation.yaml"):
        template = yaml.safe_load(path.read_text())
        machine = template["Resources"]["StateMachine"]["Properties"]
        assert machine["Definition"] == load_json(path.parent / "state_machine.json")
        text = (path.parent / "state_machine.json").read_text()
        placeholders = set(re.findall(r"\$\{([A-Za-z0-9_.]+)\}", text))
        assert placeholders == set(machine.get("DefinitionSubstitutions", {})), path


def test_http_tasks_authenticate_with_the_connection_arn(generated: Path) -> None:
    """`http:invoke` takes the ARN of an EventBridge connection; CloudFormation's Ref of one is its name."""
    checked = 0
    for path in generated.rglob("cloudformation.yaml"):
        template = yaml.safe_load(path.read_text())
        machine = template["Resources"]["StateMachine"]["Properties"]
        for _, state in states(machine["Definition"]):
            if state.get("Resource") == "arn:aws:states:::http:invoke":
                placeholder = state["Parameters"]["Authentication"]["ConnectionArn"]
                assert placeholder == "${DatabricksConnection.Arn}", (path, placeholder)
                assert machine["DefinitionSubstitutions"]["DatabricksConnection.Arn"] == {
                    "Fn::GetAtt": ["DatabricksConnection", "Arn"]}, path
                checked += 1
    assert checked >= 5, checked


def test_schedules_become_eventbridge_cron(generated: Path) -> None:
    template = yaml.safe_load((generated / "customer_etl" / "cloudformation.yaml").read_text())
    assert template["Resources"]["Schedule1"]["Properties"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    rule = template["Resources"]["ObjectCreated1"]["Properties"]["EventPattern"]
    assert rule["detail"] == {"bucket": {"name": ["data-bucket"]}, "object": {"key": [{"prefix": "data/customers/"}]}}


def test_linked_pipelines_without_a_schedule_start_after_their_upstream(generated: Path) -> None:
    def started_by_upstream(path: Path) -> bool:
        template = yaml.safe_load(path.read_text())
        return any(r["Properties"]["EventPattern"]["detail-type"] == ["Step Functions Execution Status Change"]
                   for r in template["Resources"].values()
                   if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"])
    assert started_by_upstream(generated / "sparkle" / "customers_contract" / "cloudformation.yaml")
    assert not started_by_upstream(generated / "customer_project" / "crm_silver" / "cloudformation.yaml"), \
        "a pipeline with a schedule runs on it only"


def test_the_iam_policy_grants_only_the_integrations_used(generated: Path) -> None:
    template = yaml.safe_load((generated / "partition_fanout" / "cloudformation.yaml").read_text())
    policy = template["Resources"]["StateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not any(a.startswith(("athena:", "glue:", "lambda:", "ecs:")) for a in actions)
    assert "eks:DescribeCluster" in actions


@settings(max_examples=max(3, settings().max_examples // 10))
@given(st.lists(projects(max_pipelines=2, max_steps=8), min_size=10, max_size=10))
def test_random_projects_pass_asl_validator(batch: list[Project]) -> None:
    """Ten projects per example, so that one node process checks them all."""
    with tempfile.TemporaryDirectory() as folder:
        for index, project in enumerate(batch):
            write_atomically(lower(optimise(project), "stepfunctions", {}), Path(folder) / str(index))
        definitions = sorted(Path(folder).rglob("state_machine.json"))
        assert asl_problems(definitions) == ""
        used: set[str] = set()
        for path in definitions:
            used |= resources(load_json(path))
        assert used <= INTEGRATIONS


@pytest.mark.parametrize("example", sorted(p.stem for p in (EXAMPLES / "dsl").glob("*.spk")))
def test_golden_files(example: str, golden: Any) -> None:
    project, _ = load([EXAMPLES / "dsl" / f"{example}.spk"], environ={})
    golden("stepfunctions", example, lower(optimise(project), "stepfunctions", {}))


def test_a_dag_that_is_not_series_parallel_is_reported(cli: Any, tmp_path: Path) -> None:
    spk = tmp_path / "n_shape.spk"
    spk.write_text("""pipeline n_shape {
  task a = wait 1s
  task b = wait 1s
  task c = wait 1s after a
  task d = wait 1s after a, b
}
""")
    result = cli(spk, "--backend", "stepfunctions", "-o", tmp_path / "out", "--diagnostics-format", "json")
    assert result.code == 0
    notes = [d for d in json.loads(result.err.split("\nwrote")[0]) if d["code"] in ("N301", "W301")]
    assert len(notes) == 1 and "b → c" in notes[0]["message"] and "critical path 2 → 2" in notes[0]["message"]
    definition = load_json(tmp_path / "out" / "state_machine.json")
    assert asl_problems([tmp_path / "out" / "state_machine.json"]) == ""
    assert [s["Type"] for s in definition["States"].values()].count("Parallel") == 2


def test_a_loop_too_long_for_one_history_runs_its_items_as_child_executions(cli: Any, tmp_path: Path) -> None:
    spk = tmp_path / "big.spk"
    items = ", ".join(str(i) for i in range(3000))
    spk.write_text(f"""pipeline big {{
  foreach d in [{items}] as each_day {{
    task a = container "python:3.12-slim" {{
      command ["python", "-c", "print(1)"]
    }}
  }}
}}
""")
    inline = cli(spk, "--backend", "stepfunctions", "-O", "map=inline", "-o", tmp_path / "inline")
    assert "W401" in inline.err and "map=distributed" in inline.err
    fitted = cli(spk, "--backend", "stepfunctions", "-o", tmp_path / "distributed")
    assert fitted.code == 0 and "W401" not in fitted.err and "N402" in fitted.err
    definition = load_json(tmp_path / "distributed" / "state_machine.json")
    assert definition["States"]["each_day"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert asl_problems([tmp_path / "distributed" / "state_machine.json"]) == ""
    assert cfn_lint_problems([tmp_path / "distributed" / "cloudformation.yaml"]) == ""


def test_state_names_longer_than_aws_allows_are_errors(cli: Any, tmp_path: Path) -> None:
    spk = tmp_path / "long.spk"
    spk.write_text(f"pipeline p {{\n  task {'a' * 81} = wait 1s\n}}\n")
    result = cli(spk, "--backend", "stepfunctions", "-o", tmp_path / "out")
    assert result.code == 1 and "E405" in result.err and "at most 80" in result.err
    assert not (tmp_path / "out").exists()


def test_a_pipeline_that_cannot_fail_has_no_failure_handler(tmp_path: Path) -> None:
    from sparklec.frontends.dsl import parse

    project = parse('pipeline p {\n  alert "email://team@example.com"\n  task pause = wait 5s\n}\n')
    write_atomically(lower(optimise(project), "stepfunctions", {}), tmp_path)
    definition = load_json(tmp_path / "state_machine.json")
    assert "Alert 1" not in definition["States"] and asl_problems([tmp_path / "state_machine.json"]) == ""


def _format(call: str, values: list[str]) -> str:
    """What Step Functions makes of ``States.Format('template', ...)`` given the arguments' values."""
    template = re.fullmatch(r"States\.Format\('((?:[^'\\]|\\.)*)', .*\)", call, re.S)
    assert template is not None, call
    out, arguments = [], iter(values)
    text = template.group(1)
    index = 0
    while index < len(text):
        if text[index] == "\\":
            out.append(text[index + 1])
            index += 2
        elif text.startswith("{}", index):
            out.append(next(arguments))
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def _found(data: Any, key: str) -> list[Any]:
    if isinstance(data, dict):
        return [v for k, v in data.items() if k == key] + [x for v in data.values() for x in _found(v, key)]
    if isinstance(data, list):
        return [x for v in data for x in _found(v, key)]
    return []


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
       st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
def test_user_text_around_a_loop_variable_reaches_step_functions_intact(before: str, after: str) -> None:
    """Quotes, braces and backslashes in a message that names `${day}` come out of States.Format as written."""
    from sparklec.ir import ForEach, Notify, Pipeline

    message = f"{before}${{day}}{after}"
    pipeline = Pipeline(name="texts", steps=(ForEach(name="days", var="day", items=("2024-01-01",), body=(
        Notify(name="tell", channel="sns://alerts", message=message),)),))
    definition = json.loads(lower(Project(name="texts", pipelines=(pipeline,)), "stepfunctions", {})[
        "state_machine.json"])
    [call] = _found(definition, "Message.$")
    assert _format(call, ["2024-01-01"]) == message.replace("${day}", "2024-01-01")


def test_long_pipeline_names_give_aws_names_within_limits(tmp_path: Path) -> None:
    long_name = "customer_" * 20
    sources = {name: f"""pipeline {name} {{
  schedule "0 2 * * *" timezone "Europe/Paris"
  depends_on crm_{'x' * 90}
  alert "email://data@company.com"
  task run = container "python:3.12-slim" {{
    command ["python", "-c", "print(1)"]
  }}
}}
""" for name in (long_name + "a", long_name + "b")}
    names: dict[str, set[str]] = {}
    for name, text in sources.items():
        (tmp_path / f"{name}.spk").write_text(text)
        project = optimise(load([tmp_path / f"{name}.spk"])[0])
        write_atomically(lower(project, "stepfunctions", {}), tmp_path / name)
        assert cfn_lint_problems([tmp_path / name / "cloudformation.yaml"]) == ""
        terraform = hcl2.load((tmp_path / name / "main.tf").open())
        machine = terraform["locals"][0]["name"].strip('"').replace("${var.environment}", "prod")
        assert len(machine) <= 80
        names.setdefault("machine", set()).add(machine)
        for resource in terraform["resource"]:
            (kind, blocks), = resource.items()
            for body in blocks.values():
                if "name" in body or "family" in body:
                    value = (body.get("name") or body["family"]).strip('"').replace("${var.environment}", "prod")
                    limit = {"aws_sfn_state_machine": 80, "aws_sns_topic": 256, "aws_ecs_task_definition": 255,
                             "aws_cloudwatch_log_group": 512}.get(kind.strip('"'), 64)
                    assert len(value) <= limit, (kind, value)
                    names.setdefault(kind, set()).add(value)
        stack = re.search(r'--stack-name "([^"]+)"', (tmp_path / name / "deploy.sh").read_text())
        assert stack and len(stack.group(1).replace("$env", "prod")) <= 128
    assert len(names["machine"]) == 2, "the two pipelines' names stay distinct"


def test_a_state_machine_over_1_mb_is_split_into_parts_that_deploy(cli: Any, tmp_path: Path) -> None:
    spk = tmp_path / "big.spk"
    tasks = "\n".join(f'  task q{i} = sql "SELECT {i} AS n"' + (f" after q{i - 1}" if i % 3 else "")
                      for i in range(2500))
    spk.write_text(f"pipeline big {{\n  defaults {{\n    runtime athena\n  }}\n{tasks}\n}}\n")
    out = tmp_path / "out"
    result = cli(spk, "--backend", "stepfunctions", "-o", out)
    assert result.code == 0 and "N403" in result.err
    definitions = sorted(out.glob("state_machine*.json"))
    assert len(definitions) >= 3 and all(p.stat().st_size <= 1_048_576 for p in definitions)
    assert asl_problems(definitions) == ""
    assert cfn_lint_problems([out / "cloudformation.yaml"]) == ""
    assert shell_problems(out / "deploy.sh") == ""
    template = yaml.safe_load((out / "cloudformation.yaml").read_text())
    machines = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"}
    assert len(machines) == len(definitions)
    script = (out / "deploy.sh").read_text()
    for machine in machines.values():
        key = machine["Properties"]["DefinitionS3Location"]["Key"]
        assert f's3://$bucket/{key}"' in script, "deploy.sh uploads every definition it names"
    started = {state["Parameters"]["StateMachineArn"] for p in definitions for _, state in states(load_json(p))
               if state.get("Resource") == "arn:aws:states:::states:startExecution.sync:2"}
    assert started == {f"${{{k}.Arn}}" for k in machines if k != "StateMachine"}
    policy = json.dumps(template["Resources"]["StateMachineRole"]["Properties"]["Policies"])
    assert "states:StartExecution" in policy and "StepFunctionsGetEventsForStepFunctionsExecutionRule" in policy
    terraform = hcl2.load((out / "main.tf").open())
    assert {k for k in terraform["locals"][0] if k.startswith("definition")} == \
        {"definition", *(f"definition_{k.removeprefix('StateMachine').lower()}" for k in machines if k != "StateMachine")}
    tasks_run = [name for p in definitions for name, state in states(load_json(p)) if re.fullmatch(r"q\d+", name)]
    assert sorted(tasks_run) == sorted(f"q{i}" for i in range(2500)), "every task in exactly one state machine"
    names = [block["name"].strip('"') for resource in terraform["resource"] for kind, blocks in resource.items()
             if kind.strip('"') == "aws_sfn_state_machine" for block in blocks.values()]
    assert len(names) == len(machines) and all("$${" not in n for n in names), "part names interpolate the environment"
    assert sorted(n for n in names if "part" in n) == [f"big-${{var.environment}}-part{i}" for i in range(1, len(names))]


TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20)
TAG_VALUE = st.text(st.characters(categories=("L", "N", "Zs"), include_characters="_.:/=+-@"), max_size=20)
"""What AWS takes as a tag value (cfn-lint E3031); `check` refuses any other."""


@given(TAG_VALUE, TEXT, TEXT)
def test_user_text_reaches_cloudformation_terraform_and_asl_intact(tag: str, default: str, description: str) -> None:
    """Tag values, parameter defaults and descriptions read back exactly from every file that holds them."""
    from sparklec.ir import Parameter, Pipeline, Setting, Wait

    pipeline = Pipeline(name="texts", description=description, tags=(Setting(key="team", value=tag),),
                        parameters=(Parameter(name="p", default=default),), steps=(Wait(name="pause", seconds=1),))
    files = lower(Project(name="texts", pipelines=(pipeline,)), "stepfunctions", {})
    definition = json.loads(files["state_machine.json"])
    assert definition["States"]["Start"]["Parameters"]["defaults"]["p"] == default
    assert definition["Comment"] == (f"Pipeline texts: {description}" if description else "Pipeline texts")
    template = yaml.safe_load(files["cloudformation.yaml"])
    assert {"Key": "team", "Value": tag} in template["Resources"]["StateMachine"]["Properties"]["Tags"]
    assert template["Resources"]["StateMachine"]["Properties"]["Definition"] == definition
    terraform = hcl2.loads(files["main.tf"])
    written = terraform["locals"][0]["tags"]["team"]
    assert _hcl_literal(written) == tag


def _hcl_literal(value: str) -> str:
    """What Terraform makes of a quoted HCL string python-hcl2 hands back as written (`$${` is `${`)."""
    text = json.loads(value) if value.startswith('"') else value
    return text.replace("$${", "${").replace("%%{", "%{")
