"""The conformance kit of `sparklec.testing.conformance`, on the sample backend of the README (which passes)
and on a broken copy of it (which must not)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

from conftest import EXAMPLES
from sample_backend import backend
from sparklec.backends import Artifacts
from sparklec.compiler.driver import load, optimise
from sparklec.testing import projects
from sparklec.testing.conformance import TaskGraph, check_backend


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
