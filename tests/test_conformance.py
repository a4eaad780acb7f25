"""The conformance kit of `sparklec.testing.conformance`, on the sample backend of the README (which passes)
and on a broken copy of it (which must not)."""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import attrs
import networkx as nx
import pytest
import yaml
from hypothesis import given, reject, settings

from conftest import EXAMPLES
from dbt_harness import dbt
from sample_backend import backend
from sparklec.backends import Artifacts, get_backend
from sparklec.diagnostics import LoweringError
from sparklec.compiler.driver import load, optimise
from sparklec.compiler.output import write_atomically
from sparklec.testing import projects
from sparklec.testing.conformance import TaskGraph, check_backend
from sparklec.testing.inert import check_inert


def read_back(artifacts: Artifacts) -> dict[str, TaskGraph]:
    graphs = {}
    for path, text in artifacts.items():
        listed = json.loads(text)
        graphs[path.removesuffix(".json")] = ([task["name"] for task in listed],
                                              {(before, task["name"]) for task in listed for before in task["after"]})
    return graphs


@settings(deadline=None)
@given(projects(max_pipelines=2))
def test_the_sample_backend_conforms(project: Any) -> None:
    check_backend(backend, read_back, optimise(project))


def test_the_sample_backend_conforms_on_the_examples() -> None:
    compared = sum(check_backend(backend, read_back, optimise(load([source], environ={})[0]))
                   for source in sorted((EXAMPLES / "dsl").glob("*.spk")))
    assert compared >= 40, compared


def test_a_backend_that_drops_a_dependency_fails_the_kit() -> None:
    def forgetful(project: Any, options: Any) -> Artifacts:
        files = backend.lower(project, options)
        return Artifacts({path: json.dumps([{**task, "after": task["after"][1:]} for task in json.loads(text)])
                          for path, text in files.items()})

    project = optimise(load([EXAMPLES / "dsl" / "customer_etl.spk"], environ={})[0])
    with pytest.raises(AssertionError, match="must start after"):
        check_backend(attrs.evolve(backend, lower=forgetful), read_back, project)


def argo_read_back(artifacts: Artifacts) -> dict[str, TaskGraph]:
    """Each WorkflowTemplate's leaf templates, DAG tasks expanded, with what their `depends` name; IR names from
    the README's table of renamings."""
    graphs = {}
    for path in (p for p in artifacts if p.endswith("workflow-template.yaml")):
        folder = path.removesuffix("workflow-template.yaml")
        graphs[folder.rstrip("/")] = _ArgoTemplate(artifacts[path], artifacts[folder + "README.md"]).graph()
    return graphs


class _ArgoTemplate:
    def __init__(self, text: str, readme: str):
        self.original = {k8s: name for name, k8s in re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", readme, re.M)}
        self.templates = {template["name"]: template for document in yaml.safe_load_all(text) if document
                          for template in document["spec"]["templates"]}
        self.tasks: list[str] = []
        self.edges: set[tuple[str, str]] = set()

    def graph(self) -> TaskGraph:
        self.walk("main", [])
        for step in (s for group in self.templates.get("exit-handler", {}).get("steps", []) for s in group):
            self.tasks.append(self.original.get(step["template"], step["template"]))
        return self.tasks, self.edges

    def leaves(self, name: str) -> list[str]:
        dag = self.templates[name].get("dag")
        return [leaf for task in dag["tasks"] for leaf in self.leaves(task["template"])] if dag else [
            self.original.get(name, name)]

    def walk(self, name: str, waits: list[str]) -> None:
        dag = self.templates[name].get("dag")
        if dag is None:
            self.tasks.append(self.original.get(name, name))
            self.edges.update((before, self.original.get(name, name)) for before in waits)
            return
        by_name = {task["name"]: task for task in dag["tasks"]}
        for task in dag["tasks"]:
            named = re.findall(r"[a-z0-9][a-z0-9-]*(?=\.|\b)", task.get("depends", ""))
            self.walk(task["template"], waits + [leaf for d in named if d in by_name
                                                 for leaf in self.leaves(by_name[d]["template"])])


@settings(deadline=None)
@given(projects(max_pipelines=2))
def test_argo_conforms(project: Any) -> None:
    try:
        check_backend(get_backend("argo"), argo_read_back, optimise(project))
    except LoweringError:  # a task Argo cannot run by itself (scoring with no runtime): an error, not a project
        reject()


def test_argo_conforms_on_the_examples() -> None:
    compared = sum(check_backend(get_backend("argo"), argo_read_back, optimise(load([source], environ={})[0]))
                   for source in sorted((EXAMPLES / "dsl").glob("*.spk")))
    assert compared >= 40, compared


def stepfunctions_read_back(artifacts: Artifacts) -> dict[str, TaskGraph]:
    """Each state machine's states and transitions (into and out of Parallel and Map states), a task's polling
    loop taken as the task."""
    graphs = {}
    for path in (p for p in artifacts if p.endswith("state_machine.json")):
        transitions = nx.DiGraph()
        _states(json.loads(artifacts[path]), None, transitions)
        contracted = nx.condensation(transitions)
        label = {}
        for component, members in contracted.nodes(data="members"):
            tasks = [m for m in members if ": " not in m]  # `load: wait`, `load: done?` poll the state `load`
            label[component] = tasks[0] if tasks else sorted(members)[0]
        edges = {(label[u], label[v]) for u, v in contracted.edges}
        graphs[path.removesuffix("state_machine.json").rstrip("/")] = (list(label.values()), edges)
    return graphs


def _states(machine: dict[str, Any], exit_to: str | None, transitions: nx.DiGraph) -> None:
    for name, state in machine["States"].items():
        transitions.add_node(name)
        inner = [*state.get("Branches", ()), *(state[k] for k in ("ItemProcessor", "Iterator") if k in state)]
        done = f"{name} (done)" if inner else name
        for scope in inner:
            transitions.add_edge(name, scope["StartAt"])
            _states(scope, done, transitions)
        following = [state.get("Next"), state.get("Default"), *(c.get("Next") for c in state.get("Choices", ()))]
        following += [exit_to] if state.get("End") else []
        transitions.add_edges_from((done, target) for target in following if target)


@settings(deadline=None, max_examples=20)
@given(projects(max_pipelines=2))
def test_stepfunctions_conforms(project: Any) -> None:
    check_backend(get_backend("stepfunctions"), stepfunctions_read_back, optimise(project))


def test_stepfunctions_conforms_on_the_examples() -> None:
    compared = sum(check_backend(get_backend("stepfunctions"), stepfunctions_read_back,
                                 optimise(load([source], environ={})[0]))
                   for source in sorted((EXAMPLES / "dsl").glob("*.spk")))
    assert compared >= 40, compared


@pytest.mark.parametrize("name", ["dbt", "stepfunctions", "argo"])
def test_user_text_stays_data_on_the_examples(name: str) -> None:
    compared = sum(check_inert(get_backend(name), optimise(load([source], environ={})[0]))
                   for source in sorted((EXAMPLES / "dsl").glob("*.spk")))
    assert compared >= 40, compared


@settings(deadline=None, max_examples=max(4, settings().max_examples // 4))
@given(projects(max_pipelines=2))
def test_user_text_stays_data(project: Any) -> None:
    compared = 0
    for name in ("dbt", "stepfunctions", "argo"):
        try:
            compared += check_inert(get_backend(name), optimise(project))
        except LoweringError:  # a project the target cannot run
            continue
    assert compared > 0, "files holding user text were compared"


@pytest.mark.parametrize(("suffix", "write"), [
    ("yaml", lambda text: f"description: {text}\n"),
    ("sh", lambda text: f'echo "{text}"\n'),
    ("sql", lambda text: f"-- {text}\nSELECT 1\n"),
    ("py", lambda text: f"# {text}\nx = 1\n"),
])
def test_a_backend_that_writes_user_text_as_code_fails_the_kit(suffix: str, write: Any) -> None:
    def careless(project: Any, options: Any) -> Artifacts:
        return Artifacts({f"{p.name}.{suffix}": "".join(write(task.description) for task in p.on_failure)
                          for p in project.pipelines})

    project = optimise(load([EXAMPLES / "dsl" / "customer_etl.spk"], environ={})[0])
    with pytest.raises(AssertionError, match="changed the file's structure"):
        check_inert(attrs.evolve(backend, lower=careless), project)


def dbt_read_back(artifacts: Artifacts) -> dict[str, TaskGraph]:
    """The graph `dbt parse` builds from the project: each model tagged with the tasks it runs (a transform, then
    its write), each data test with its check, a model's children after its tests (as `dbt build` runs them);
    models without tasks of their own (the pieces of a snapshot) stand between the models they link."""
    with tempfile.TemporaryDirectory() as folder:
        write_atomically(artifacts, Path(folder) / "project")
        outcome = dbt(Path(folder) / "project", "parse")
        if "DuckDB has" in str(outcome.exception):  # a function the test's DuckDB target refuses, at parse time
            reject()
        assert outcome.success, outcome.exception
        manifest = outcome.result
    entry: dict[str, str] = {}
    leave: dict[str, str] = {}
    pipeline_of: dict[str, str] = {}
    graphs: dict[str, TaskGraph] = {}
    for unique_id, node in manifest.nodes.items():
        meta = node.config.meta.get("sparklec", {})
        tasks = meta.get("tasks") or ([meta["task"]] if "task" in meta else [unique_id])
        entry[unique_id], leave[unique_id] = tasks[0], tasks[-1]
        if meta:
            pipeline_of[unique_id] = meta["pipeline"]
            listed, edges = graphs.setdefault(meta["pipeline"], ([], set()))
            listed += [task for task in tasks if task not in listed]
            edges.update(itertools.pairwise(tasks))
    every = set().union(*(edges for _, edges in graphs.values())) if graphs else set()
    children: dict[str, list[str]] = {}
    for unique_id, node in manifest.nodes.items():
        for parent in node.depends_on.nodes:
            if parent in manifest.nodes:
                every.add((leave[parent], entry[unique_id]))
                children.setdefault(parent, []).append(unique_id)
    for unique_id, node in manifest.nodes.items():
        if node.resource_type == "test" and getattr(node, "attached_node", None):
            every.update((leave[unique_id], entry[child]) for child in children.get(node.attached_node, [])
                         if manifest.nodes[child].resource_type != "test")
    return {pipeline: (tasks, every) for pipeline, (tasks, _) in graphs.items()}


def test_dbt_conforms_on_the_examples() -> None:
    compared = sum(check_backend(get_backend("dbt"), dbt_read_back, optimise(load([source], environ={})[0]))
                   for source in sorted((EXAMPLES / "dsl").glob("*.spk")))
    assert compared >= 15, compared


@settings(deadline=None, max_examples=max(3, settings().max_examples // 20))
@given(projects(max_pipelines=2))
def test_dbt_conforms(project: Any) -> None:
    try:
        check_backend(get_backend("dbt"), dbt_read_back, optimise(project))
    except LoweringError:  # a project dbt cannot build (a relation written twice)
        reject()


def test_a_backend_that_runs_a_task_whose_prerequisite_it_leaves_out_fails_the_kit() -> None:
    def partial(project: Any, options: Any) -> Artifacts:
        files = backend.lower(project, options)
        kept = {path: json.dumps([task for task in json.loads(text) if task["name"] != "stage_raw"])
                for path, text in files.items()}
        return Artifacts(kept, left_out={("customer_etl", "stage_raw"): "not supported"})

    project = optimise(load([EXAMPLES / "dsl" / "customer_etl.spk"], environ={})[0])
    with pytest.raises(AssertionError, match="runs although `stage_raw`"):
        check_backend(attrs.evolve(backend, lower=partial), read_back, project)
