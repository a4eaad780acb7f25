"""The backend registry: built-ins, entry points (a real plugin package), duplicates, the guide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sparklec.backends as backends
from conftest import install_entry_point
from sparklec.backends import Backend, available, get_backend
from sparklec.diagnostics import UsageError
from sparklec.ir import Pipeline, Project


def test_entry_point_backend_is_found_and_loaded(plugin: Path) -> None:
    assert available()["ir-json"] == "sparklec_plugin_example:backend"
    backend = get_backend("ir-json")
    project = Project(name="p", pipelines=(Pipeline(name="p"),))
    assert set(backend.lower(project, {})) == {"p.json"}


def test_duplicate_backend_names_are_rejected(plugin: Path) -> None:
    install_entry_point(plugin, "another_plugin", "ir-json = another_plugin:backend")
    with pytest.raises(UsageError) as error:
        available()
    assert error.value.diagnostics[0].code == "E503"


def test_unknown_backend_lists_the_available_ones(plugin: Path) -> None:
    with pytest.raises(UsageError) as error:
        get_backend("airflow")
    diagnostic = error.value.diagnostics[0]
    assert diagnostic.code == "E502" and "ir-json" in (diagnostic.help or "")


def test_the_guide_example_builds() -> None:
    guide = backends.__doc__ or ""
    block = re.search(r"The smallest complete backend::\n\n(.*?)\n\nRegister", guide, re.S)
    assert block is not None
    namespace: dict[str, object] = {}
    exec(compile("\n".join(line[4:] for line in block.group(1).splitlines()), "guide", "exec"), namespace)
    backend = namespace["backend"]
    assert isinstance(backend, Backend) and backend.name == "ir-json"
    project = Project(name="p", pipelines=(Pipeline(name="a"), Pipeline(name="b")))
    assert sorted(backend.lower(project, {})) == ["a.json", "b.json"]
