"""The Argo backend, checked against Argo's own strict schemas and for what they leave out: references,
cron strings, names; the DAGs keep exactly the IR's order and every task appears once."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import attrs
import networkx as nx
import pytest
import sqlglot
import yaml
from sqlglot import exp
from hypothesis import given, settings
from hypothesis import strategies as st

from argo_harness import NAME, problems, references, render, spark_sql_scripts
from sparklec.backends.argo.split import split
from conftest import COMPILED_SOURCES, EXAMPLES, compile_sources
from sparklec.backends.argo.names import sanitise
from sparklec.backends.argo.steps import PROFILE
from sparklec.lowering import inlined_transforms
from sparklec.compiler.driver import load, lower, optimise
from sparklec.compiler.output import write_atomically
from sparklec.ir import Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.ir.graph import levels
from sparklec.ir.policy import Policy
from sparklec.testing import projects
from stepfunctions_harness import shell_problems

SOURCES = COMPILED_SOURCES


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example (and both shared configs), compiled once into one folder per source."""
    return compile_sources(tmp_path_factory.mktemp("argo"), "argo")


def test_every_manifest_passes_the_strict_schemas_and_the_reference_checks(generated: Path) -> None:
    assert len(list(generated.rglob("workflow-template.yaml"))) >= len(SOURCES)
    assert problems(generated) == []


def test_a_misspelt_key_is_caught(generated: Path, tmp_path: Path) -> None:
    document = yaml.safe_load((generated / "customer_etl" / "workflow-template.yaml").read_text())
    document["spec"]["templates"][0]["dagg"] = document["spec"]["templates"][0].pop("dag")
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(document))
    assert any("dagg" in p for p in problems(tmp_path))


def _template(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(t for t in spec["templates"] if kind in t)


ADMISSION_RULES: list[tuple[str, Any, str]] = [  # on customer_etl; the resource rules on spark_operator
    ("two template types", lambda spec: _template(spec, "container").update(suspend={}), "2 template types"),
    ("no template type", lambda spec: _template(spec, "container").pop("container"), "no template types"),
    ("resource action", lambda spec: _template(spec, "resource")["resource"].update(action="create-or-update"),
     "resource.action must be one of"),
    ("resource manifest", lambda spec: _template(spec, "resource")["resource"].update(manifest="a: [b"),
     "manifest must be a valid yaml"),
    ("empty image", lambda spec: _template(spec, "container")["container"].update(image=""), "image may not be empty"),
    ("deadline on a DAG", lambda spec: _template(spec, "dag").update(activeDeadlineSeconds=60), "only valid for leaf"),
    ("negative deadline", lambda spec: _template(spec, "container").update(activeDeadlineSeconds=-1),
     "must be a positive integer"),
    ("parallelism on a leaf", lambda spec: _template(spec, "container").update(parallelism=2),
     "parallelism is only valid"),
    ("an empty DAG", lambda spec: _template(spec, "dag")["dag"].update(tasks=[]), "at least one task"),
    ("depends and dependencies", lambda spec: _template(spec, "dag")["dag"]["tasks"][0].update(
        dependencies=["x"]), "both 'depends' and 'dependencies'"),
    ("continueOn with depends", lambda spec: _template(spec, "dag")["dag"]["tasks"][-1].update(
        continueOn={"failed": True}), "'continueOn' with 'depends'"),
    ("a parameter with no value", lambda spec: spec["arguments"]["parameters"][-1].pop("valueFrom"),
     "has no value or valueFrom"),
    ("pod GC strategy", lambda spec: spec["podGC"].update(strategy="Sometimes"), "podGC.strategy"),
]


@pytest.mark.parametrize(("rule", "break_it", "message"), ADMISSION_RULES, ids=[r[0] for r in ADMISSION_RULES])
def test_each_admission_rule_of_argos_controller_is_checked(rule: str, break_it: Any, message: str,
                                                           generated: Path, tmp_path: Path) -> None:
    """The generated manifests pass; each broken one is caught with the controller's reason."""
    example = "spark_operator" if rule.startswith("resource") else "customer_etl"
    document = yaml.safe_load((generated / example / "workflow-template.yaml").read_text())
    assert problems(generated / example) == []
    break_it(document["spec"])
    (tmp_path / "workflow-template.yaml").write_text(yaml.safe_dump(document))
    assert any(message in p for p in problems(tmp_path)), (rule, problems(tmp_path))


def test_cron_admission_rules(generated: Path, tmp_path: Path) -> None:
    document = yaml.safe_load((generated / "customer_etl" / "cron-workflow.yaml").read_text())
    document["spec"].update(startingDeadlineSeconds=0, timezone="Mars/Olympus")
    (tmp_path / "cron-workflow.yaml").write_text(yaml.safe_dump(document))
    found = problems(tmp_path)
    assert any("startingDeadlineSeconds" in p for p in found) and any("invalid timezone" in p for p in found), found


def test_every_deploy_script_passes_shellcheck(generated: Path) -> None:
    paths = sorted(generated.rglob("deploy.sh"))
    assert len(paths) >= len(SOURCES), paths
    for path in paths:
        assert shell_problems(path) == "", path


def test_deploy_keeps_the_settings_runs_read_and_refuses_incomplete_ones(generated: Path, tmp_path: Path) -> None:
    """deploy.sh, run against a kubectl that records its calls: the settings ConfigMap the WorkflowTemplate
    reads its parameters from is created from every `key=value`, before anything else; a missing, unknown or
    absent setting stops it with a usage error."""
    folder = generated / "customer_etl"
    spec = yaml.safe_load((folder / "workflow-template.yaml").read_text())["spec"]
    keys = sorted(p["name"] for p in spec["arguments"]["parameters"] if "valueFrom" in p)
    assert {p["valueFrom"]["configMapKeyRef"]["name"] for p in spec["arguments"]["parameters"] if "valueFrom" in p} \
        == {"customer-etl-settings"} and len(keys) == 5, keys
    log = tmp_path / "kubectl.log"
    stub = tmp_path / "bin" / "kubectl"
    stub.parent.mkdir()
    stub.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {log}\n'
                    '[ "$1" != get ] || [ -e "$(dirname "$0")/has-settings" ]\n')
    stub.chmod(0o755)

    def deploy(*arguments: str) -> subprocess.CompletedProcess[str]:
        log.write_text("")
        return subprocess.run(["bash", str(folder / "deploy.sh"), *arguments], capture_output=True, text=True,
                              env={"PATH": f"{stub.parent}:/usr/bin:/bin"})
    settings = [f"{key}=value of {key}" for key in keys]
    done = deploy("team-a", *settings)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    [created] = [c for c in calls[:2] if c.startswith("create configmap customer-etl-settings --namespace team-a ")]
    assert all(f"--from-literal={s}" in created for s in settings)  # piped to `apply`: the two in either order
    assert "rbac.yaml" in calls[2] and "workflow-template.yaml" in calls[3], calls
    for arguments, message in [(settings[1:], f"missing setting: {keys[0]}="), ([*settings, "regoin=x"], "unknown setting: regoin"),
                               ((), "has no settings yet")]:
        refused = deploy("team-a", *arguments)
        assert refused.returncode == 2 and message in refused.stderr, (arguments, refused.stderr)
        assert "apply" not in log.read_text(), "nothing is installed"
    (stub.parent / "has-settings").touch()
    assert deploy("team-a", "--submit").returncode == 0, "the settings are in the namespace already"
    assert "create --namespace team-a --filename" in log.read_text()


def test_the_seed_example_fans_out_over_partitions_then_fans_in(generated: Path) -> None:
    spec = yaml.safe_load((generated / "partition_fanout" / "workflow-template.yaml").read_text())["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    main = templates["main"]["dag"]["tasks"]
    assert [(t["name"], t.get("depends")) for t in main] == [("process-partitions", None),
                                                             ("aggregate-results", "process-partitions")]
    loop = templates["process-partitions"]
    assert loop["parallelism"] == 10 and loop["dag"]["tasks"][0]["withItems"] == list(range(10))
    container = templates["process-partition"]["container"]
    assert container["args"][-1] == "{{inputs.parameters.partition}}"
    output = templates["process-partition"]["outputs"]["artifacts"][0]
    assert output["s3"]["key"] == "results/{{inputs.parameters.partition}}"
    assert templates["aggregate-results"]["script"]["source"].startswith("import glob")


def test_schedules_triggers_and_sensors(generated: Path) -> None:
    cron = yaml.safe_load((generated / "customer_etl" / "cron-workflow.yaml").read_text())
    assert cron["spec"]["schedules"] == ["0 2 * * *"] and cron["spec"]["timezone"] == "UTC"
    sensor = yaml.safe_load((generated / "customer_etl" / "sensor.yaml").read_text())
    trigger = sensor["spec"]["triggers"][0]["template"]["argoWorkflow"]
    assert trigger["source"]["resource"]["spec"]["workflowTemplateRef"]["name"] == "customer-etl"
    assert [p["src"]["dataKey"] for p in trigger["parameters"]] == ["notification.0.s3.bucket.name",
                                                                    "notification.0.s3.object.key"]


def test_renamed_steps_are_listed_and_unexpected_renamings_reported(cli: Any, tmp_path: Path) -> None:
    result = cli(EXAMPLES / "dsl" / "customer_etl.spk", "--backend", "argo", "-o", tmp_path / "a")
    assert result.code == 0 and "N401" not in result.err, "snake_case to kebab-case is what everyone expects"
    assert "| `ingest_data` | `ingest-data` |" in (tmp_path / "a" / "README.md").read_text()
    odd = tmp_path / "odd.spk"
    odd.write_text("pipeline p {\n  task `Load Orders` = wait 1s\n}\n")
    result = cli(odd, "--backend", "argo", "-o", tmp_path / "b")
    assert result.code == 0 and "N401" in result.err and "Load Orders → load-orders" in result.err


def test_a_bad_namespace_is_an_option_error(cli: Any, tmp_path: Path) -> None:
    result = cli(EXAMPLES / "dsl" / "customer_etl.spk", "--backend", "argo", "-O", "namespace=Not_Valid",
                 "-o", tmp_path / "out")
    assert result.code == 2 and "E401" in result.err


# --- the property --------------------------------------------------------------------------------


def dag_templates(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {t["name"]: t["dag"]["tasks"] for t in spec["templates"] if "dag" in t}


def argo_closure(tasks: list[dict[str, Any]], owner: dict[str, str]) -> set[tuple[str, str]]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(owner[task["name"]] for task in tasks)
    for task in tasks:
        for dependency in task.get("depends", "").split(" && "):
            if dependency:
                graph.add_edge(owner[dependency], owner[task["name"]])
    return set(nx.transitive_closure_dag(graph).edges)


def check_pipeline(pipeline: Pipeline, spec: dict[str, Any]) -> None:
    names = [s.name for s in t.walk(pipeline.steps)]
    assert len({sanitise(n) for n in names}) == len(names), "hypothesis names stay distinct"
    dags = dag_templates(spec)
    inlined = inlined_transforms(pipeline, PROFILE)
    for group, level in levels(pipeline, inlined):
        if not level.steps:
            continue
        if group is None:
            template = "main"
        elif isinstance(group, t.ForEach):
            template = f"{sanitise(group.name)}-body"
        else:
            in_then = any(s.name in level.steps for s in group.then)
            template = sanitise(group.name) + ("" if in_then else "-else")
        tasks = dags[template]
        owner = {}
        for name, step in level.steps.items():
            owner[sanitise(name)] = name
            if isinstance(step, t.Branch):
                owner[f"{sanitise(name)}-else"] = name
        assert {owner[task["name"]] for task in tasks} == set(level.steps)
        expected = set(nx.transitive_closure_dag(level.nx).edges)
        assert argo_closure(tasks, owner) == expected, template
    templates = [t["name"] for t in spec["templates"]]
    assert len(templates) == len(set(templates)) and all(NAME.match(n) for n in templates)
    for task in (s for s in t.walk(pipeline.steps) if isinstance(s, t.Task) and s.name not in inlined):
        uses = [d for tasks in dags.values() for d in tasks if d["template"] == sanitise(task.name)]
        assert templates.count(sanitise(task.name)) == 1 and len(uses) == 1, task.name


def needs_a_job_runtime(step: t.Step, defaults: Policy) -> bool:
    if not isinstance(step, (t.Train, t.Score, t.SelectModel, t.Ingest)) or t.runtime_of(step, defaults):
        return False
    return not (isinstance(step, t.Ingest) and step.ingestor.startswith("jdbc"))


def with_job_runtimes(steps: tuple[t.Step, ...], defaults: Policy) -> tuple[t.Step, ...]:
    """Jobs Kubernetes cannot run by itself (training, scoring, non-JDBC ingestion) on Glue."""
    result: list[t.Step] = []
    for step in steps:
        if isinstance(step, t.ForEach):
            step = attrs.evolve(step, body=with_job_runtimes(step.body, defaults))
        elif isinstance(step, t.Branch):
            step = attrs.evolve(step, then=with_job_runtimes(step.then, defaults),
                                otherwise=with_job_runtimes(step.otherwise, defaults))
        elif needs_a_job_runtime(step, defaults):
            step = attrs.evolve(step, policy=attrs.evolve(step.policy, runtime="glue"))
        result.append(step)
    return tuple(result)


@settings(max_examples=max(10, settings().max_examples // 2))
@given(projects(max_pipelines=2, max_steps=8))
def test_dags_keep_exactly_the_ir_order_and_every_task_once(project: Project) -> None:
    project = attrs.evolve(project, pipelines=tuple(
        attrs.evolve(p, steps=with_job_runtimes(p.steps, p.defaults)) for p in project.pipelines))
    project = optimise(project)
    artifacts = lower(project, "argo", {})
    folder = "" if len(project.pipelines) == 1 else "{}/"
    for pipeline in project.pipelines:
        document = yaml.safe_load(artifacts[folder.format(pipeline.name) + "workflow-template.yaml"])
        check_pipeline(pipeline, document["spec"])
    with tempfile.TemporaryDirectory() as directory:
        write_atomically(artifacts, Path(directory))
        assert problems(Path(directory)) == []


@pytest.mark.parametrize("example", sorted(p.stem for p in (EXAMPLES / "dsl").glob("*.spk")))
def test_golden_files(example: str, golden: Any) -> None:
    project, _ = load([EXAMPLES / "dsl" / f"{example}.spk"], environ={})
    golden("argo", example, lower(optimise(project), "argo", {}))


def test_every_spark_sql_script_is_spark_sql(generated: Path) -> None:
    """What `spark-sql -e` runs parses as Spark SQL, statement by statement (Argo's `{{...}}` taken as a value),
    and never names a CTE like one of an enclosing WITH (Spark rejects such a nested CTE)."""
    scripts = spark_sql_scripts(generated)
    assert len(scripts) >= 10
    for script in scripts:
        for statement in script:
            if not statement.startswith(("SET ", "CREATE OR REPLACE TEMPORARY VIEW source USING jdbc")):
                for outer in sqlglot.parse_one(statement, read="spark").find_all(exp.With):
                    own = outer.expressions
                    names = {cte.alias for cte in own}
                    nested = {cte.alias for cte in outer.parent.find_all(exp.CTE) if all(cte is not o for o in own)}
                    assert len(names) == len(own) and not names & nested, statement


def test_manifests_are_json_compatible(generated: Path) -> None:
    """What `kubectl apply` reads: YAML that is plain JSON data (no tags, no anchors)."""
    documents = [d for path in sorted(generated.rglob("*.yaml")) for d in yaml.safe_load_all(path.read_text())]
    assert len(documents) >= 3 * len(SOURCES), len(documents)
    for document in documents:
        assert json.loads(json.dumps(document)) == document


def test_the_scripts_in_the_templates_pass_shellcheck_and_compile(tmp_path: Path) -> None:
    from sparklec.backends.argo.steps import AWS_RUNS, DATABRICKS_RUN

    for runtime, script in AWS_RUNS.items():
        path = tmp_path / f"{runtime}.sh"
        path.write_text("#!/usr/bin/env bash\n" + script)
        assert shell_problems(path) == "", runtime
    compile(DATABRICKS_RUN, "databricks_run.py", "exec")


BRACED = st.text(st.characters(exclude_categories=("Cs",)), max_size=20) | st.sampled_from(
    ["{{workflow.name}}", "{{=sprig.env('HOME')}}", "}}{{", "{{ {{ }} }}", "${nothing}", "{{inputs.parameters.x}}"])


@given(BRACED, BRACED)
def test_user_text_reaches_argo_intact_and_inert(message: str, argument: str) -> None:
    """Argo substitutes `{{...}}`; text a user writes renders back to itself, and has no tag Argo cannot resolve."""
    pipeline = Pipeline(name="texts", steps=(
        t.Container(name="run", image="python:3.12-slim", command=("python", "-c"), args=(argument,)),
        t.Notify(name="tell", channel="slack://alerts", message=message, after=("run",))))
    artifacts = lower(Project(name="texts", pipelines=(pipeline,)), "argo", {})
    template = yaml.safe_load(artifacts["workflow-template.yaml"])
    assert references(template, {template["metadata"]["name"]: template["spec"]}) == []
    by_name = {tpl["name"]: tpl for tpl in template["spec"]["templates"]}
    assert render(by_name["run"]["container"]["args"][0], {}) == argument
    payload = next(e["value"] for e in by_name["tell"]["container"]["env"] if e["name"] == "PAYLOAD")
    assert json.loads(render(payload, {}))["text"] == f"texts: tell: {message or 'Pipeline texts: tell'}"


# --- splitting what one Kubernetes object cannot hold --------------------------------------------


def _expanded(name: str, templates: dict[str, dict[str, Any]], cut: set[str]) -> tuple[set[str], set[tuple[str, str]]]:
    """The tasks of DAG template `name` with the sub-DAGs it was cut into expanded, and the order between
    them (u → v: v starts after u ends)."""
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    inside: dict[str, set[str]] = {}
    for task in templates[name]["dag"]["tasks"]:
        target = task.get("template") or task["templateRef"]["template"]
        if target in cut:
            inner_nodes, inner_edges = _expanded(target, templates, cut)
            inside[task["name"]] = inner_nodes
            edges |= inner_edges
        else:
            inside[task["name"]] = {task["name"]}
        nodes |= inside[task["name"]]
    for task in templates[name]["dag"]["tasks"]:
        for dependency in filter(None, task.get("depends", "").split(" && ")):
            edges |= {(u, v) for u in inside[dependency] for v in inside[task["name"]]}
    return nodes, edges


def _local(template: dict[str, Any]) -> dict[str, Any]:
    """`template` with its steps' `templateRef`s back to template names."""
    copy = json.loads(json.dumps(template))
    for step in (s for group in copy.get("steps", []) for s in group):
        if "templateRef" in step:
            step["template"] = step.pop("templateRef")["template"]
    return copy


def _closure(nodes: set[str], edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return set(nx.transitive_closure_dag(graph).edges)


@settings(max_examples=max(10, settings().max_examples // 2))
@given(projects(max_pipelines=1, max_steps=10), st.integers(300, 3000))
def test_a_split_template_keeps_every_task_and_every_dependency(project: Project, budget: int) -> None:
    project = optimise(attrs.evolve(project, pipelines=tuple(
        attrs.evolve(p, steps=with_job_runtimes(p.steps, p.defaults)) for p in project.pipelines)))
    document = yaml.safe_load(lower(project, "argo", {})["workflow-template.yaml"])
    name, spec = document["metadata"]["name"], document["spec"]
    main, parts = split(name, json.loads(json.dumps(spec)), budget)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "workflow-template.yaml").write_text(yaml.safe_dump({**document, "spec": main}))
        for index, part in enumerate(parts, start=1):
            (folder / f"part-{index}.yaml").write_text(yaml.safe_dump({
                "apiVersion": document["apiVersion"], "kind": "WorkflowTemplate",
                "metadata": {"name": sanitise(f"{name}-part-{index}")}, "spec": part}))
        assert problems(folder) == []
    templates = {t["name"]: t for t in [*main["templates"], *(t for p in parts for t in p["templates"])]}
    original = {t["name"]: t for t in spec["templates"]}
    assert set(original) <= set(templates)
    cut = set(templates) - set(original)
    for template_name, template in original.items():
        if "dag" not in template:
            assert _local(templates[template_name]) == template
            continue
        before = {task["name"] for task in template["dag"]["tasks"]}
        edges = {(d, task["name"]) for task in template["dag"]["tasks"]
                 for d in filter(None, task.get("depends", "").split(" && "))}
        nodes, after = _expanded(template_name, templates, cut)
        assert nodes == before, "every task once"
        assert _closure(before, edges) <= _closure(nodes, after), "every dependency kept"


def test_a_workflow_template_too_big_for_kubernetes_is_split(cli: Any, tmp_path: Path) -> None:
    spk = tmp_path / "big.spk"
    text = "x" * 300
    tasks = "\n".join(f'  task c{i} = container "python:3.12-slim" {{\n    command ["python", "-c", "print({i})", '
                      f'"{text}"]\n  }}' + (f"\n  task d{i} = wait 1s after c{i}" if i % 10 == 0 else "")
                      for i in range(4000))
    spk.write_text(f"pipeline big {{\n{tasks}\n}}\n")
    out = tmp_path / "out"
    result = cli(spk, "--backend", "argo", "-o", out)
    assert result.code == 0 and "N404" in result.err
    manifests = sorted(out.glob("workflow-template*.yaml"))
    assert len(manifests) >= 3 and all(p.stat().st_size <= 1_000_000 for p in manifests)
    assert problems(out) == []
    script = (out / "deploy.sh").read_text()
    assert script.index("workflow-template-part-1.yaml") < script.index("workflow-template.yaml"), \
        "the parts exist before the template that refers to them"
    assert shell_problems(out / "deploy.sh") == ""


# --- shell scripts take user text as data ---------------------------------------------------------

HOSTILE = st.sampled_from(["$(touch pwned)", "`touch pwned`", "'; touch pwned; '", '"; touch pwned; "',
                           "x\ntouch pwned", "$HOME ${PATH} $1", "*", "-rf", "a\\", "%s%n"]) | st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30)
STUB = '#!/bin/sh\nfor argument in "$@"; do printf "%s\\0" "$argument"; done >> "$CALLS"\nprintf "\\0\\n" >> "$CALLS"\n' \
       'case "$*" in *create-topic*) echo arn:aws:sns:eu-west-1:123456789012:topic ;; esac\n'
"""Stands in for `aws` and `curl`: records every call's arguments."""


@settings(max_examples=max(10, settings().max_examples // 3))
@given(HOSTILE, HOSTILE)
def test_shell_scripts_take_user_text_as_data_and_run_nothing_from_it(subject: str, message: str) -> None:
    pipeline = Pipeline(name="texts", steps=tuple(
        t.Notify(name=f"tell-{index}", channel=channel, subject=subject, message=message)
        for index, channel in enumerate(("sns://alerts", "email://data@company.com", "slack://alerts"))))
    document = yaml.safe_load(lower(Project(name="texts", pipelines=(pipeline,)), "argo", {})["workflow-template.yaml"])
    values = {f"workflow.parameters.{p['name']}": p.get("value", "x") for p in document["spec"]["arguments"]["parameters"]}
    shells = [tpl["container"] for tpl in document["spec"]["templates"]
              if tpl.get("container", {}).get("command", [""])[0] in ("bash", "sh")]
    assert len(shells) == 3
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "bin").mkdir()
        for tool in ("aws", "curl"):
            (work / "bin" / tool).write_text(STUB)
            (work / "bin" / tool).chmod(0o755)
        for container in shells:
            env = {e["name"]: render(e["value"], values) for e in container["env"] if "value" in e}
            env |= {e["name"]: "secret" for e in container["env"] if "valueFrom" in e}
            env |= {"PATH": f"{work / 'bin'}:/usr/bin:/bin", "CALLS": str(work / "calls"), "HOME": str(work)}
            shell, flag, script = container["command"]
            completed = subprocess.run([shell, flag, script], env=env, cwd=work, capture_output=True, check=False)
            assert completed.returncode == 0, completed.stderr
        assert not (work / "pwned").exists()
        calls = [c.split("\0")[:-1] for c in (work / "calls").read_text().split("\0\n") if c]
    published = next(c for c in calls if c[:2] == ["sns", "publish"])
    assert published[published.index("--message") + 1] == message
    assert published[published.index("--subject") + 1] == subject
    posted = next(c for c in calls if "--data" in c)
    assert json.loads(posted[posted.index("--data") + 1]) == {"text": f"{subject}: {message}"}
