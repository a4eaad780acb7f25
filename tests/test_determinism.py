"""Output is byte-identical across runs, hash seeds and orderings of the input that mean the same pipeline."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from typing import Any

import attrs
import yaml
from hypothesis import given
from hypothesis import strategies as st

from conftest import EXAMPLE_CONFIGS, EXAMPLES, ROOT
from sparklec.backends import BUILTIN
from sparklec.diagnostics import SparklecError
from sparklec.compiler.driver import load, lower, optimise
from sparklec.frontends.config import load_config
from sparklec.ir import Project
from sparklec.ir import tasks as t
from sparklec.testing import projects

ORDERED_MAPS = {"source_columns", "aggregations", "columns"}
"""Config keys whose mappings list columns: their order is the order of the output's columns."""

DIGEST_ALL = """
import hashlib, sys
from pathlib import Path
from sparklec.compiler.driver import load, lower, optimise
digest = hashlib.sha256()
for source in sys.argv[1:]:
    project = optimise(load([Path(source)])[0])
    for backend in ("dbt", "stepfunctions", "argo"):
        for path, text in sorted(lower(project, backend, {}).items()):
            digest.update(path.encode() + b"\\0" + text.encode() + b"\\0")
print(digest.hexdigest())
"""


def outputs(project: Project) -> dict[str, Any]:
    """Every backend's artifacts for `project`, or the error codes it stops with."""
    found: dict[str, Any] = {}
    optimised = optimise(project)
    for backend in sorted(BUILTIN):
        try:
            found[backend] = dict(lower(optimised, backend, {}))
        except SparklecError as error:
            found[backend] = sorted(d.code for d in error.diagnostics)
    return found


def test_every_backend_is_identical_across_hash_seeds() -> None:
    sources = [str(EXAMPLES / "sparkle"), *map(str, sorted((EXAMPLES / "dsl").glob("*.spk")))]
    digests = {subprocess.run([sys.executable, "-c", DIGEST_ALL, *sources], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, cwd=ROOT, check=True).stdout
               for seed in ("0", "1", "4242")}
    assert len(digests) == 1


def _shuffled_keys(value: Any, draw: Any) -> Any:
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        return {k: value[k] if k in ORDERED_MAPS else _shuffled_keys(value[k], draw) for k in keys}
    if isinstance(value, list):
        return [_shuffled_keys(v, draw) for v in value]
    return value


@given(st.sampled_from(EXAMPLE_CONFIGS), st.data())
def test_config_key_order_does_not_matter(path: Any, data: st.DataObject) -> None:
    text = path.read_text()
    document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    reordered = json.dumps(_shuffled_keys(document, data.draw))
    original = load_config(json.dumps(document), str(path))[0]
    shuffled = load_config(reordered, str(path))[0]
    assert original == shuffled
    assert outputs(Project(name=original.name, pipelines=(original,))) == \
        outputs(Project(name=shuffled.name, pipelines=(shuffled,)))


def _shuffled_steps(steps: tuple[t.Step, ...], draw: Any) -> tuple[t.Step, ...]:
    shuffled = []
    for step in draw(st.permutations(steps)):
        if isinstance(step, t.ForEach):
            step = attrs.evolve(step, body=_shuffled_steps(step.body, draw))
        elif isinstance(step, t.Branch):
            step = attrs.evolve(step, then=_shuffled_steps(step.then, draw),
                                otherwise=_shuffled_steps(step.otherwise, draw))
        shuffled.append(step)
    return tuple(shuffled)


@given(projects(), st.data())
def test_the_order_steps_are_written_in_does_not_matter(project: Project, data: st.DataObject) -> None:
    reordered = attrs.evolve(project, pipelines=tuple(
        attrs.evolve(p, steps=_shuffled_steps(p.steps, data.draw)) for p in project.pipelines))
    assert outputs(reordered) == outputs(project)


def test_the_bundled_examples_do_not_depend_on_step_order() -> None:
    for path in sorted((EXAMPLES / "dsl").glob("*.spk")):
        project = load([path])[0]
        reversed_steps = attrs.evolve(project, pipelines=tuple(
            attrs.evolve(p, steps=p.steps[::-1]) for p in project.pipelines))
        assert outputs(reversed_steps) == outputs(project), path.name


def test_the_order_pipelines_are_written_in_changes_no_output() -> None:
    """A project's pipelines are taken in the order of their names: the `.spk` with its pipelines reversed gives
    the same files on every backend."""
    from sparklec.compiler.driver import load_dsl

    text = (EXAMPLES / "dsl" / "customer_project.spk").read_text()
    blocks = re.split(r"\n(?=pipeline )", text)
    reversed_text = "\n".join([blocks[0], *reversed(blocks[1:])])
    assert reversed_text != text and len(blocks) > 2
    as_written, reversed_ = (optimise(load_dsl(t, "customer_project.spk")[0]) for t in (text, reversed_text))
    compared = 0
    for backend in sorted(BUILTIN):
        assert lower(as_written, backend, {}) == lower(reversed_, backend, {}), backend
        compared += 1
    assert compared == 3
