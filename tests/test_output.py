"""Atomic output writing, path safety, and serialisers that keep every text exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sparklec.backends.formats import json_size, json_text, yaml_text
from sparklec.compiler import output
from sparklec.diagnostics import UsageError


def test_replaces_the_directory_as_a_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    output.write_atomically({"a.txt": "1", "sub/b.txt": "2", "deploy.sh": "#!/bin/sh\n"}, target)
    output.write_atomically({"c.txt": "3"}, target)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [output.MANIFEST, "c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_scripts_are_executable(tmp_path: Path) -> None:
    written = output.write_atomically({"deploy.sh": "#!/bin/sh\n"}, tmp_path / "out")
    assert written[0].stat().st_mode & 0o111


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../b", "", "c:\\x", "a\\b"])
def test_paths_may_not_leave_the_output(tmp_path: Path, path: str) -> None:
    with pytest.raises(UsageError) as error:
        output.write_atomically({path: "x"}, tmp_path / "out")
    assert error.value.diagnostics[0].code == "E504"
    assert not (tmp_path / "out").exists()


@given(st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))),
                       st.text(st.characters(exclude_categories=("Cs",))), max_size=4))
def test_yaml_and_json_keep_every_text_exactly(data: dict[str, str]) -> None:
    """Line breaks YAML folds (CR, NEL, U+2028), trailing spaces, quotes and unicode all come back as written."""
    assert yaml.safe_load(yaml_text(data)) == data
    assert json.loads(json_text(data)) == data


_TEXT = st.text(st.characters(exclude_categories=("Cs",)))
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4))


@given(_JSON)
def test_json_text_is_the_standard_indented_json(data: object) -> None:
    """`json_text` writes what `json.dumps(indent=2)` writes, and `json_size` is its length in bytes."""
    text = json_text(data)
    assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert json_size(data) == len(text.encode())
