"""Fuzzing: mutated pipelines get a positioned diagnostic or compile; never a traceback, never a hang.

Valid `.spk` files and Sparkle configs are mutated the way people and
programs break them — deleted, inserted and swapped tokens, wrong types,
huge values, deep nesting, odd unicode and bytes that are not UTF-8 — and
every backend lowers what still verifies.  Here a few hundred cases of
`tests/fuzzer.py` run with its time and memory limits; `make fuzz` runs
100,000 of them.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE_CONFIGS, EXAMPLES
from sparklec.backends import BUILTIN
from sparklec.diagnostics import Diagnostic, SparklecError
from sparklec.compiler.driver import load, lower, optimise

SPK_FILES = {p.name: p.read_text() for p in sorted((EXAMPLES / "dsl").glob("*.spk"))}
CONFIG_FILES = {p.name: p.read_text() for p in EXAMPLE_CONFIGS}
TOKENS = ["{", "}", "(", ")", "[", "]", ",", ":", "=", "|", ".", '"', '"""', "`", "#", "\n", " ",
          "task", "pipeline", "from", "foreach", "if", "else", "write", "into", "check", "after", "source",
          "target", "columns", "example", "given", "expect", "null", "true", "-1", "1e308", "99999999999999999999",
          "1h", "0s", "${x}", "{{ x }}", "'", "\\", "\u202e", "\u0000", "\ufeff", "é", "😀", "a" * 300]
SECONDS = 5.0
"""The most one input may take to compile for every backend."""


def _token_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|\w+|\S', text)]


@st.composite
def mutated_spk(draw: Any) -> bytes:
    """A bundled `.spk` file with a few token-level mutations, sometimes not valid UTF-8."""
    text = SPK_FILES[draw(st.sampled_from(sorted(SPK_FILES)))]
    for _ in range(draw(st.integers(1, 4))):
        spans = _token_spans(text)
        start, end = spans[draw(st.integers(0, len(spans) - 1))]
        action = draw(st.sampled_from(["delete", "insert", "replace", "swap", "repeat", "nest"]))
        token = draw(st.sampled_from(TOKENS) | st.text(max_size=3))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + token + " " + text[start:]
        elif action == "replace":
            text = text[:start] + token + text[end:]
        elif action == "swap":
            other_start, other_end = spans[draw(st.integers(0, len(spans) - 1))]
            if other_start > end:
                text = (text[:start] + text[other_start:other_end] + text[end:other_start] + text[start:end]
                        + text[other_end:])
        elif action == "repeat":
            text = text[:end] + text[start:end] * draw(st.integers(2, 50)) + text[end:]
        else:
            depth = draw(st.integers(50, 3000))
            text = text[:start] + "(" * depth + text[start:end] + ")" * depth + text[end:]
    data = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + data[cut:]
    return data


def _values(depth: int) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=False),
                        st.text(max_size=20), st.sampled_from(["${UNSET}", "${X:}", "$${", "../../etc", "*/0 * * * *"]))
    return scalars if depth == 0 else st.one_of(scalars, st.lists(_values(depth - 1), max_size=3),
                                                st.dictionaries(st.text(max_size=10), _values(depth - 1), max_size=3))


@st.composite
def mutated_config(draw: Any) -> tuple[str, bytes]:
    """A bundled Sparkle config with keys dropped, values of the wrong type, or deep nesting."""
    name = draw(st.sampled_from(sorted(CONFIG_FILES)))
    text = CONFIG_FILES[name]
    document = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 4))):
        path = [document]
        node = document
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
            node = node[draw(st.sampled_from(keys))]
            path.append(node)
        parent = path[-2] if len(path) > 1 else document
        if not isinstance(parent, (dict, list)) or not parent:
            continue
        key = draw(st.sampled_from(sorted(parent) if isinstance(parent, dict) else list(range(len(parent)))))
        action = draw(st.sampled_from(["drop", "retype", "nest"]))
        if action == "drop":
            del parent[key]
        elif action == "retype":
            parent[key] = draw(_values(2))
        else:
            nested: Any = parent[key]
            for _ in range(draw(st.integers(20, 150))):
                nested = [nested]
            parent[key] = nested
    if name.endswith(".json"):
        return name, json.dumps(document).encode()
    return name, yaml.safe_dump(document).encode()


def _compile(path: Path) -> None:
    """Check `path` and lower it for every backend: only sparklec's own errors may come out, with positions."""
    started = time.perf_counter()
    try:
        project, _ = load([path], environ={})
        optimised = optimise(project)
        for backend in BUILTIN:
            try:
                lower(optimised, backend, {})
            except SparklecError as error:
                _positioned(error.diagnostics, path, required=False)
    except SparklecError as error:
        _positioned(error.diagnostics, path, required=True)
    assert time.perf_counter() - started < SECONDS, "too slow for one input"


def _positioned(diagnostics: list[Diagnostic], path: Path, required: bool) -> None:
    assert diagnostics, "an error without a diagnostic"
    for diagnostic in diagnostics:
        assert diagnostic.message and diagnostic.code
        if required and diagnostic.is_error and diagnostic.code != "E501":
            assert diagnostic.span is not None and diagnostic.span.file == str(path), diagnostic
            assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1, diagnostic


@settings(deadline=None)
@given(mutated_spk())
def test_mutated_spk_files_compile_or_fail_with_a_position(tmp_path_factory: Any, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "pipeline.spk"
    path.write_bytes(data)
    _compile(path)


@settings(deadline=None)
@given(mutated_config())
def test_mutated_configs_compile_or_fail_with_a_position(tmp_path_factory: Any, named: tuple[str, bytes]) -> None:
    name, data = named
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    _compile(path)


def test_a_few_hundred_fuzz_cases_pass_within_the_limits(tmp_path: Path) -> None:
    """`tests/fuzzer.py` in a worker process: no traceback, no case over 2 s or 500 MB, no hang."""
    import fuzzer

    failures = fuzzer.fuzz(0, 300, seconds=2.0, megabytes=500.0, out=tmp_path)
    assert failures == {}, "\n".join(f"case {n}: {p}" for n, p in sorted(failures.items()))


def _written_chain(path: Path, length: int) -> None:
    """Write a `.spk` pipeline to `path`: a chain of `length` transforms, each also written to a table."""
    lines = ["pipeline chain {", "  source raw = main.bronze.raw {", "    columns {", "      id: bigint,",
             "      name: string", "    }", "  }"]
    for i in range(length):
        lines += [f"  target out{i} = main.silver.t{i}",
                  f"  task t{i} = from {f't{i - 1}' if i else 'raw'} | trim_and_clean_strings(columns: [name])",
                  f"  task w{i} = write t{i} into out{i}"]
    path.write_text("\n".join(lines) + "\n}\n")


def test_a_long_chain_of_transforms_each_written_compiles_everywhere(tmp_path: Path) -> None:
    """Transforms inline into their readers only a few deep: a chain of 80 would otherwise nest 80 queries
    (deeper than sqlglot recurses) and repeat the chain's start in every statement."""
    _written_chain(tmp_path / "chain.spk", 80)
    project = optimise(load([tmp_path / "chain.spk"])[0])
    for backend in sorted(BUILTIN):
        artifacts = lower(project, backend, {})
        assert sum(len(text) for text in artifacts.values()) < 2_000_000, backend


def test_a_chain_too_deep_for_the_default_stack_compiles(cli: Any, tmp_path: Path) -> None:
    """Chains are walked recursively; `sparklec` runs on a deep stack, so a long one is no traceback."""
    _written_chain(tmp_path / "chain.spk", 200)
    result = cli(tmp_path / "chain.spk", "--backend", "stepfunctions", "-o", tmp_path / "out")
    assert result.code == 0 and "Traceback" not in result.err
