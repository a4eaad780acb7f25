"""User text never executes: hostile names and values come out of every backend as inert data.

Each test puts text that would do something if a target evaluated it (Jinja that reads an environment
variable, SQL that writes a file, `${...}` substitutions, Argo expressions) where a user may write it, and
asks the target's own tool what it made of it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbt_harness import dbt
from sparklec.diagnostics import SparklecError
from sparklec.compiler.driver import load_dsl, lower, optimise
from sparklec.compiler.output import write_atomically

FEW = 25
CANARY = "sparklec-canary-4f1d"
"""The value of the environment variable `SPARKLEC_CANARY` while the tests run: seen anywhere, it leaked."""

PIPELINE = """pipeline {name} {{
  source orders = main.bronze.orders {{ columns {{ id: bigint, amount: double }} }}
  target clean = main.silver.orders_clean
  task tidy = from orders | filter_by_condition(condition: "amount > 0")
  task save = write tidy into clean
}}
"""


@pytest.fixture(autouse=True)
def canary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKLEC_CANARY", CANARY)


def _leaked(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and CANARY in p.read_text(errors="replace")]


def test_a_pipeline_name_is_never_rendered_by_dbt(tmp_path: Path) -> None:
    name = '{{ log("T=" ~ env_var("SPARKLEC_CANARY", "unset"), info=True) }}'
    project, _ = load_dsl(PIPELINE.format(name=f"`{name}`"))
    write_atomically(lower(optimise(project), "dbt", {}), tmp_path)
    outcome = dbt(tmp_path, "parse")
    assert outcome.success
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert models and all(name in n["tags"] for n in models)
    assert _leaked(tmp_path) == [] and CANARY not in os.environ.get("DBT_LOG", "")


# --- sparklec run -----------------------------------------------------------------------------------------------

RUN = """pipeline runs {{
  env prod
  param region: string = "{default}"
  source orders = main.bronze.orders {{ columns {{ id: bigint, region: string }} }}
  target picked = main.silver.picked
  task pick = from orders | filter_by_condition(condition: "region = '${{region}}' or region = ${{region}}")
  task save = write pick into picked
  foreach item in ["{default}"] as each after save {{
    task per_item = execute "INSERT INTO {{{{ picked }}}} SELECT 99, '${{item}}'"
  }}
  task leak = sql "select 1 as id, * from read_csv('/etc/passwd') limit 1"
  target leaked = main.silver.leaked
  task keep = write leak into leaked
}}
"""


def _payload(folder: Path) -> str:
    return f"x') ; COPY (SELECT 42) TO '{folder}/p.csv'; --"


@pytest.mark.parametrize("via", ["default", "--param"])
def test_run_binds_parameters_and_loop_items_as_values(tmp_path: Path, via: str) -> None:
    from sparklec.compiler.cli import main

    (tmp_path / "data" / "bronze").mkdir(parents=True)
    (tmp_path / "data" / "bronze" / "orders.csv").write_text("id,region\n1,eu\n2,us\n")
    payload = _payload(tmp_path)
    spk = tmp_path / "runs.spk"
    spk.write_text(RUN.format(default=payload if via == "default" else "eu"))
    extra = ["--param", f"region={payload}"] if via == "--param" else []
    main(["run", str(spk), "--data", str(tmp_path / "data"), "--db", str(tmp_path / "run.duckdb"), *extra])
    assert not (tmp_path / "p.csv").exists()
    import duckdb

    connection = duckdb.connect(str(tmp_path / "run.duckdb"))
    assert connection.execute("SELECT count(*) FROM silver.picked WHERE id = 99").fetchone() == (1,)
    tables = {row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    connection.close()
    assert "leaked" not in tables, "a pipeline read /etc/passwd"


# --- Argo ---------------------------------------------------------------------------------------------------------

def test_argo_keeps_braces_of_user_text_literal_in_every_field_it_substitutes() -> None:
    """Argo substitutes `{{...}}` in templates and workflow arguments: a user's `{{` renders back to itself in
    images, parameter defaults (lists too), artifact paths, resource conditions and `when` literals."""
    import yaml

    from argo_harness import references, render
    from sparklec.ir import tasks as t
    from sparklec.ir.pipeline import Parameter, Pipeline, Project

    hostile = "{{=sprig.env('SPARKLEC_CANARY')}}"
    pipeline = Pipeline(name="texts", parameters=(
        Parameter(name="region", default=hostile), Parameter(name="parts", type="list<string>", default=(hostile,))),
        steps=(
            t.Container(name="run", image=f"python:{hostile}", command=("true",),
                        outputs=(t.Artifact(name="out", path=f"/tmp/{hostile}"),)),
            t.KubernetesResource(name="apply", action="create", manifest="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
                                 success_condition=f"status.phase == {hostile}", after=("run",)),
            t.Branch(name="pick", condition=t.Compare(left=t.ParamRef(name="region"), op="==", right=hostile),
                     then=(t.Wait(name="pause", seconds=1),), after=("apply",))))
    artifacts = lower(Project(name="texts", pipelines=(pipeline,)), "argo", {})
    template = yaml.safe_load(artifacts["workflow-template.yaml"])
    assert references(template, {template["metadata"]["name"]: template["spec"]}) == []
    by_name = {tpl["name"]: tpl for tpl in template["spec"]["templates"]}
    defaults = {p["name"]: p["value"] for p in template["spec"]["arguments"]["parameters"]}
    rendered = [render(by_name["run"]["container"]["image"], {}), render(defaults["region"], {}),
                json.loads(render(defaults["parts"], {}))[0], render(by_name["run"]["outputs"]["artifacts"][0]["path"], {}),
                render(by_name["apply"]["resource"]["successCondition"], {})]
    assert rendered == [f"python:{hostile}", hostile, hostile, f"/tmp/{hostile}", f"status.phase == {hostile}"]
    [when] = [task["when"] for tpl in template["spec"]["templates"] for task in tpl.get("dag", {}).get("tasks", [])
              if "when" in task and "region" in task["when"]]
    govaluate = hostile.replace("'", "\\'")  # a string literal of the `when` expression
    assert render(when, {"workflow.parameters.region": "x"}) == f"'x' == '{govaluate}'"


def test_dbt_test_names_are_node_names_whatever_the_columns_are_called(tmp_path: Path) -> None:
    """A column called `{{ x }}` with checks: dbt parses the project, and the tests keep their column."""
    text = """pipeline `odd {{ name }}` {
  source raw = main.bronze.raw { columns { id: bigint, `{{ x }}`: string } }
  target out = main.silver.out
  task c = check raw { not_null(`{{ x }}`) unique(id) }
  task w = write raw into out after c
}
"""
    project, _ = load_dsl(text)
    write_atomically(lower(optimise(project), "dbt", {}), tmp_path)
    outcome = dbt(tmp_path, "parse")
    assert outcome.success
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert len(tests) == 2 and all(n["name"].isidentifier() for n in tests)
    assert {n["column_name"] for n in tests} == {"{{ x }}", "id"}


# --- names and secrets ----------------------------------------------------------------------------------------

def test_a_schema_name_that_is_sql_is_an_error_at_check() -> None:
    from sparklec.diagnostics import VerifyError

    text = PIPELINE.format(name="p").replace("main.silver.orders_clean",
                                             "main.`x'; copy (select 42) to '/tmp/p.csv'; select '1`.t")
    with pytest.raises(VerifyError) as error:
        load_dsl(text)
    assert [d.code for d in error.value.diagnostics] == ["E220"]


@pytest.mark.parametrize("name", ["DatabricksToken", "nosuch"])
def test_step_functions_substitutes_only_what_the_stack_declares(name: str) -> None:
    from sparklec.diagnostics import LoweringError

    text = PIPELINE.format(name="p").replace(
        "task save = write tidy into clean",
        f'task save = write tidy into clean\n  task tell = notify "sns://alerts" after save {{ message "a ${{{name}}}" }}')
    project, _ = load_dsl(text)
    with pytest.raises(LoweringError) as error:
        lower(optimise(project), "stepfunctions", {})
    assert [d.code for d in error.value.diagnostics] == ["E405"] and f"${{{name}}}" in str(error.value)


# --- every backend: files that parse, scripts that do nothing they should not ----------------------------------

HOSTILE = st.sampled_from([
    "$(touch /tmp/sparklec-pwn)", "`id`", "'; DROP TABLE x; --", '"; rm -rf / #', "{{ env_var('SPARKLEC_CANARY') }}",
    "{% raw %}", "${DatabricksHost}", "${AWS::Region}", "{{=sprig.env('HOME')}}", "%{ for x in y }", "\\", "\n\ttab",
    "é 字 😀", "}}{{", "--force", "-rf"]) | st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=FEW, deadline=None)
@given(name=HOSTILE, description=HOSTILE, default=HOSTILE, message=HOSTILE, argument=HOSTILE)
def test_hostile_text_leaves_every_backends_files_parseable_and_its_scripts_inert(
        tmp_path_factory: pytest.TempPathFactory, name: str, description: str, default: str, message: str,
        argument: str) -> None:
    """Hostile text in a pipeline's name, description, a parameter default, a message and a container argument:
    every file still parses (YAML, JSON, HCL), scripts pass `bash -n` and shellcheck, and nothing a script
    or a template could run shows up outside a string (the scripts are never run).  Also in a column's and a
    dataset's description, a SQL string literal, a container's environment and an artifact's path."""
    import hcl2
    import yaml

    from sparklec.ir import tasks as t
    from sparklec.ir.pipeline import Parameter, Pipeline, Project
    from stepfunctions_harness import shell_problems, states

    from sparklec.ir import transformers as tf
    from sparklec.ir.pipeline import Dataset
    from sparklec.ir.values import Column, Setting

    literal = "'" + argument.replace("\\", "\\\\").replace("'", "\\'") + "'"  # a Spark SQL string
    pipeline = Pipeline(name=name or "p", description=description,
                        parameters=(Parameter(name="region", default=default),),
                        datasets=(Dataset(name="raw", schema="bronze", table="raw", description=description,
                                          columns=(Column(name="id", type="bigint", description=message),
                                                   Column(name="note", type="string"))),
                                  Dataset(name="out", schema="silver", table="out")),
                        steps=(t.Transform(name="pick", input="raw", steps=(
                                   tf.FilterByCondition(condition=f"note <> {literal}"),)),
                               t.Write(name="save", input="pick", target="out", mode="overwrite"),
                               t.Container(name="run", image="python:3.12-slim", command=("python", "-c"),
                                           args=(argument, "${region}"), env=(Setting(key="NOTE", value=message),),
                                           outputs=(t.Artifact(name="result", path=f"/tmp/{argument}"),)),
                               t.Notify(name="tell", channel="sns://alerts", message=f"{message} it's {{x}} \\ in ${{region}}",
                                        after=("run",))))
    project = Project(name="p", pipelines=(pipeline,))
    checked = 0
    for backend in ("argo", "dbt", "stepfunctions"):
        folder = tmp_path_factory.mktemp(backend)
        try:
            write_atomically(lower(optimise(project), backend, {}), folder / "out")
        except SparklecError as error:  # refused with a diagnostic, never a traceback
            assert all(d.code.startswith(("E4", "E5")) for d in error.diagnostics), error
            continue
        for path in (folder / "out").rglob("*"):
            if path.name == "cloudformation.yaml":
                assert _unknown_substitutions(yaml.safe_load(path.read_text())) == []
            elif path.suffix in (".yaml", ".yml"):
                list(yaml.safe_load_all(path.read_text()))
            elif path.suffix == ".json":
                definition = json.loads(path.read_text())
                if path.name.startswith("state_machine"):
                    [tell] = [state for name, state in states(definition) if name == "tell"]
                    assert _formatted(tell["Parameters"]["Message.$"]) == f"{message} it's {{x}} \\ in ${{region}}"
            elif path.suffix == ".tf":
                hcl2.loads(path.read_text())
            elif path.suffix == ".sh":
                assert shell_problems(path) == "", path.read_text()
            else:
                continue
            checked += 1
    assert checked >= 6
    assert not Path("/tmp/sparklec-pwn").exists()


def _unknown_substitutions(template: dict[str, object]) -> list[str]:
    """Every `${name}` CloudFormation would substitute (in `Fn::Sub` strings and `DefinitionSubstitutions`
    definitions) that is not a parameter, a resource or a pseudo parameter of the template."""
    known = {*template.get("Parameters", {}), *template.get("Resources", {})}  # type: ignore[arg-type]
    found: list[str] = []

    def walk(node: object, substituted: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, substituted or key == "Fn::Sub")
        elif isinstance(node, list):
            for item in node:
                walk(item, substituted)
        elif isinstance(node, str) and substituted:
            found.extend(name for name in re.findall(r"\$\{([^}!]+)\}", node)
                         if not name.startswith("AWS::") and name.split(".")[0] not in known)

    walk(template, False)
    for resource in template.get("Resources", {}).values():  # type: ignore[union-attr]
        substitutions = resource.get("Properties", {}).get("DefinitionSubstitutions", {})
        found.extend(name for name in re.findall(r"\$\{([A-Za-z0-9_.]+)\}", json.dumps(resource.get(
            "Properties", {}).get("Definition", {}))) if name not in substitutions)
    return found


def _formatted(call: str) -> str:
    """What Step Functions' `States.Format('template', $.params.x, ...)` makes, with each argument written back
    as the `${x}` it came from: the template read by the intrinsic-function rules (a backslash escapes the
    next character; `{}` is the next argument; an unescaped `'` ends the string)."""
    assert call.startswith("States.Format('")
    text, position, holes = "", len("States.Format('"), 0
    while call[position] != "'":
        if call[position] == "\\":
            text, position = text + call[position + 1], position + 2
        elif call.startswith("{}", position):
            text, position, holes = text + "\0", position + 2, holes + 1
        else:
            assert call[position] not in "{}", f"an unescaped brace in {call!r}"
            text, position = text + call[position], position + 1
    arguments = [a.strip() for a in call[position + 1:].rstrip(")").split(",") if a.strip()]
    assert len(arguments) == holes, call
    for argument in arguments:
        text = text.replace("\0", "${" + argument.rsplit(".", 1)[-1] + "}", 1)
    return text
