"""User text is data: a conformance check that the free text of a pipeline never becomes code in any file.

    from sparklec.testing.inert import check_inert

    def test_my_backend_keeps_user_text_inert():
        assert check_inert(backend, optimise(project)) > 0

Every description, message, subject and prompt of the project (set or not) is set to a plain
marker, and then to each of `PAYLOADS` (quotes, ``$(...)``, ``${...}``,
``{{ }}``, comment starters, new lines, YAML and SQL syntax).  Each file
the backend writes must have the same shape both times: the same structure for
JSON, YAML and Python (their string values aside), and the same text outside
string literals and comments for SQL, shell and Terraform.  A payload the
backend rejects with a diagnostic (`LoweringError`, `UsageError`) is inert too.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import yaml

from sparklec.backends import Backend
from sparklec.compiler.passes import PassPipeline
from sparklec.diagnostics import LoweringError, UsageError
from sparklec.ir.pipeline import Project

MARKER = "plain words"
PAYLOADS: tuple[str, ...] = (
    "it's \"quoted\" `ls` $(touch /tmp/sparklec-pwned); rm -rf ~ # end",
    "{{ ref('x') }} {% if true %}x{% endif %} {{workflow.status}} {#",
    "a\nkey: [1, 2]\n- item\n--- \n' OR 1=1; DROP TABLE t; -- /* */",
    "${HOME} $${x} %{ if true }x%{ endif } \\\" \\' \\n \x00",
)
TEXT_FIELDS = ("description", "message", "subject", "prompt")
"""The IR fields that hold free text."""


def with_text(node: Any, text: str) -> Any:
    """`node` with every free text field (`TEXT_FIELDS`), all the way down, set to `text`."""
    if isinstance(node, tuple):
        return tuple(with_text(item, text) for item in node)
    if not attrs.has(type(node)):
        return node
    changes: dict[str, Any] = {}
    for field in attrs.fields(type(node)):
        if not field.init or not field.eq:
            continue
        value = getattr(node, field.name)
        if field.name in TEXT_FIELDS and isinstance(value, str):
            changes[field.name] = text
        elif isinstance(value, tuple) or attrs.has(type(value)):
            changes[field.name] = with_text(value, text)
    return attrs.evolve(node, **changes)


def check_inert(backend: Backend, project: Project, options: Mapping[str, str] | None = None) -> int:
    """Lower `project` with its free text set to `MARKER` and to each of `PAYLOADS`, and check that every file
    has the same shape each time.  Returns how many files holding user text it compared (over all payloads)."""
    project = PassPipeline(backend.passes()).run(project)
    plain = backend.lower(with_text(project, MARKER), options or {})
    expected = _shapes(plain)
    holding = {path for path, text in plain.items() if MARKER in text}
    compared = 0
    for payload in PAYLOADS:
        try:
            files = backend.lower(with_text(project, payload), options or {})
        except (LoweringError, UsageError):
            continue
        shapes = _shapes(files)
        assert shapes.keys() == expected.keys(), f"user text changed which files are written: {payload!r}"
        for path, shape in shapes.items():
            assert shape == expected[path], f"{path}: user text {payload!r} changed the file's structure"
            compared += path in holding
    return compared


def _shapes(files: Mapping[str, str]) -> dict[str, Any]:
    shapes = {}
    for path, text in files.items():
        reader = _reader(path)
        if reader is not None:
            try:
                shapes[path] = reader(text)
            except (ValueError, SyntaxError, yaml.YAMLError) as error:
                raise AssertionError(f"{path}: user text changed the file's structure: it no longer reads ({error})"
                                     ) from None
    return shapes


def _reader(path: str) -> Callable[[str], Any] | None:
    """How to take the shape of a file, by its name (None: prose, not compared)."""
    suffix = path.rpartition(".")[2]
    return {"json": lambda text: _blank(json.loads(text)), "yaml": _yaml, "yml": _yaml, "py": _python,
            "sql": _outside(SQL_LITERALS), "sh": _outside(SHELL_LITERALS), "tf": _outside(HCL_LITERALS)}.get(suffix)


def _blank(data: Any) -> Any:
    """`data` with its string values (not its keys) blanked."""
    if isinstance(data, dict):
        return {key: _blank(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_blank(item) for item in data]
    return "" if isinstance(data, str) else data


def _yaml(text: str) -> Any:
    return [_blank(document) for document in yaml.safe_load_all(text)]


def _python(text: str) -> str:
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


SQL_LITERALS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
"""SQL string literals and comments."""
SHELL_LITERALS = re.compile(r"'[^']*'|(?m:^\s*#.*$)")
"""Single-quoted shell words and whole-line comments (nothing expands inside either)."""
HCL_LITERALS = re.compile(r'"(?:[^"\\$%]|\\.|\$\$|%%|\$(?!\{)|%(?!\{))*"|(?m:^\s*#.*$)')
"""Terraform strings without interpolations or directives, and whole-line comments."""


def _outside(literals: re.Pattern[str]) -> Callable[[str], str]:
    """The text outside the `literals` of a language (each literal left as one mark)."""
    return lambda text: literals.sub("'…'", text)
