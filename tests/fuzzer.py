"""Fuzzing sparklec in-process: mutated `.spk`, JSON and YAML files through `check` and every backend.

    python tests/fuzzer.py --cases 100000            # what `make fuzz` runs
    python tests/fuzzer.py --only 4711               # one case again, by its number

Each case is made from its number alone (the bundled examples, mutated the
ways people and programs break files: byte flips, deleted and repeated
tokens, deep nesting, huge numbers and strings, control characters, lone
surrogates, a BOM, CRLF, YAML aliases and tags).  A worker process runs the
cases one after another; a case fails when it raises anything but a
`SparklecError`, reports an input error without a position, takes more than
`--seconds`, or leaves the worker over `--megabytes` of memory.  A case
that hangs is killed, and the worker started again after it.  Failing cases
are written to `--out` with what went wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import re
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
SOURCES = sorted([*(EXAMPLES / "dsl").glob("*.spk"), *(p for p in (EXAMPLES / "sparkle").rglob("*")
                                                        if p.suffix in (".json", ".yaml", ".yml"))])
TOKENS = ["{", "}", "(", ")", "[", "]", ",", ":", "=", "|", ".", '"', '"""', "`", "#", "\n", " ", "-", "'",
          "task", "pipeline", "from", "foreach", "if", "else", "write", "into", "check", "after", "source",
          "target", "columns", "null", "true", "-1", "1e308", "1e999", "0x10", "${x}", "{{ x }}", "{% x %}",
          "\\", "\u202e", "\ufeff", "é", "😀", "&a", "*a", "!!python/object:os.system", "!!binary", "!custom",
          "<<: *a", "? ", "--- ", "...", "%YAML 1.1", "~"]
CONTROL = [chr(c) for c in (*range(0, 32), 127, 0x85, 0x2028, 0x2029)]
MUTATIONS = ("flip", "delete", "repeat", "insert", "nest", "number", "string", "control", "surrogate", "bom",
             "crlf", "alias", "tag", "nest_if")
MAX_CASE = 40 << 20
"""The most characters a case has (past the input limits, so they are tried too; small, so that making the
case does not take the memory its run is measured by)."""
HANG_SECONDS = 30.0
"""A case still running after this long is killed as a hang."""


def case_input(number: int) -> tuple[str, bytes]:
    """The file name and bytes of case `number`."""
    rng = random.Random(number)
    source = SOURCES[rng.randrange(len(SOURCES))]
    text = source.read_text(encoding="utf-8")
    mutated: bytes | str = text
    for _ in range(rng.randint(1, 4)):
        grown = _mutate(rng, mutated if isinstance(mutated, str) else mutated.decode("utf-8", "surrogateescape"),
                        source.suffix)
        mutated = grown if len(grown) <= MAX_CASE else mutated
    data = mutated if isinstance(mutated, bytes) else _bytes(mutated)
    return f"case{number}{source.suffix}", data


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


_TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|\w+|\S')


def _token(rng: random.Random, text: str) -> tuple[int, int]:
    """Where a token chosen at random is (without listing them all: a text may be megabytes long)."""
    match = _TOKEN.search(text, rng.randrange(len(text) + 1)) or _TOKEN.search(text)
    return match.span() if match else (0, 0)


def _mutate(rng: random.Random, text: str, suffix: str) -> str | bytes:
    start, end = _token(rng, text)
    kind = rng.choice(MUTATIONS)
    if kind == "flip":
        data = bytearray(_bytes(text))
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if kind == "delete":
        return text[:start] + text[end:]
    if kind == "repeat":  # at most some 12 MB in all: an input past the limits is refused from its size
        count = min(rng.choice((2, 3, 50, 1000)), (12 << 20) // max(1, end - start))
        return text[:end] + text[start:end] * count + text[end:]
    if kind == "insert":
        return text[:start] + rng.choice(TOKENS) + rng.choice(("", " ")) + text[start:]
    if kind == "nest":
        depth = rng.choice((50, 500, 3000, 50_000))
        opening, closing = rng.choice((("(", ")"), ("[", "]"), ("{", "}"), ('{"a":', "}")))
        return text[:start] + opening * depth + text[start:end] + closing * depth + text[end:]
    if kind == "number":
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice((20, 400, 5000, 50_000))))
        return text[:start] + rng.choice(("", "-")) + "9" + digits + rng.choice(("", ".5", "e5", "e99999")) + text[end:]
    if kind == "string":
        length = rng.choice((300, 70_000, 1_000_000, 10_000_000 if rng.random() < 0.05 else 100))
        unit = rng.choice(("a", "é", "\\n", "{{ x }}", "'", "%s"))
        body = unit * min(length, MAX_CASE // len(unit) - len(text))
        return text[:start] + '"' + body + '"' + text[end:]
    if kind == "control":
        return text[:start] + "".join(rng.choice(CONTROL) for _ in range(rng.randint(1, 3))) + text[start:]
    if kind == "surrogate":  # a lone surrogate as UTF-8 would have it (which is not UTF-8), or as an escape
        raw = rng.choice((b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\\ud800", b"\\udc00"))
        return _bytes(text[:start]) + raw + _bytes(text[start:])
    if kind == "bom":
        return "\ufeff" + text
    if kind == "crlf":
        return text.replace("\n", rng.choice(("\r\n", "\r")))
    if kind == "alias":
        return _aliases(rng, text, suffix, start)
    if kind == "tag":
        return text[:start] + rng.choice(("!!python/object/apply:os.system ['true'] ", "!!str ", "!!int ", "!!binary ",
                                          "!!timestamp ", "!custom ", "!<tag:yaml.org,2002:map> ")) + text[start:]
    depth = rng.choice((100, 1000, 3000))
    body = "".join(f"if p{i} == 1 as b{i} {{\n" for i in range(depth)) + "task w = wait 1s\n" + "}\n" * depth
    return text.replace("\n}", "\n" + body + "}", 1)


def _aliases(rng: random.Random, text: str, suffix: str, at: int) -> str:
    """YAML anchors and aliases: a billion laughs, a recursive alias, or an alias to an undefined anchor."""
    if suffix == ".json":
        return text[:at] + "&a [*a]" + text[at:]
    choice = rng.randrange(3)
    if choice == 0:
        levels = ["a0: &a0 [" + ",".join(["x"] * 10) + "]"]
        levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, rng.choice((4, 9)))]
        return "\n".join(levels) + "\n" + text
    if choice == 1:
        return "loop: &loop [*loop]\n" + text
    return text[:at] + "*nowhere " + text[at:]


# --- running the cases ---------------------------------------------------------------------------------------

def run_case(name: str, data: bytes, folder: Path) -> str | None:
    """Check the case and lower it for every backend; what went wrong, or None."""
    from sparklec.backends import BUILTIN
    from sparklec.diagnostics import LoweringError, SparklecError, raise_if_errors
    from sparklec.compiler.driver import check_sql, load, lower, optimise

    path = folder / name
    path.write_bytes(data)
    try:
        try:
            project, _ = load([path], environ={})
            raise_if_errors(check_sql(project), LoweringError)
        except SparklecError as error:
            return _unpositioned(error, str(path))
        optimised = optimise(project)
        for backend in sorted(BUILTIN):
            with contextlib.suppress(SparklecError):
                lower(optimised, backend, {})
    except Exception:
        return "traceback:\n" + traceback.format_exc()
    finally:
        path.unlink()
    return None


def _unpositioned(error: Exception, file: str) -> str | None:
    diagnostics = getattr(error, "diagnostics", ())
    if not diagnostics:
        return "an error without a diagnostic"
    for diagnostic in diagnostics:
        if diagnostic.is_error and diagnostic.code.startswith("E1") and (
                diagnostic.span is None or diagnostic.span.file != file or diagnostic.span.line < 1):
            return f"an input error without a position: {diagnostic}"
    return None


def _peak_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _forget_peak() -> None:
    """Start the process's peak memory afresh (Linux), so that a case is measured without the making of it."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _worker(numbers: Iterator[int], report: int, seconds: float, megabytes: float) -> None:
    """Run cases until done or over the memory limit, writing a JSON line per case start and end to `report`."""
    from sparklec.compiler.stack import on_deep_stack

    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # as the command line does
    with tempfile.TemporaryDirectory() as folder:
        def loop() -> None:
            for number in numbers:
                os.write(report, (json.dumps({"start": number}) + "\n").encode())
                name, data = case_input(number)
                _forget_peak()
                started = time.perf_counter()
                try:
                    problem = run_case(name, data, Path(folder))
                except MemoryError:
                    problem = "memory: MemoryError"
                elapsed = time.perf_counter() - started
                if problem is None and elapsed > seconds:
                    problem = f"slow: {elapsed:.1f} s"
                peak = _peak_megabytes()
                if problem is None and peak > megabytes:
                    problem = f"memory: {peak:.0f} MB"
                os.write(report, (json.dumps({"done": number, "problem": problem, "seconds": elapsed}) + "\n").encode())
                if peak > megabytes:
                    return  # a new worker starts with a fresh peak
        on_deep_stack(loop)


def fuzz(first: int, count: int, seconds: float, megabytes: float, out: Path,
         progress: Callable[[str], None] = lambda line: None) -> dict[int, str]:
    """Run cases `first` … `first + count - 1`; the failing ones by number, written to `out`."""
    failures: dict[int, str] = {}
    next_case, end = first, first + count
    slowest = 0.0
    started = time.perf_counter()
    while next_case < end:
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(reading)
            try:
                _worker(iter(range(next_case, end)), writing, seconds, megabytes)
            finally:
                os._exit(0)
        os.close(writing)
        running, since, buffer = None, time.perf_counter(), b""
        while True:
            ready, _, _ = select.select([reading], [], [], 1.0)
            if ready:
                chunk = os.read(reading, 65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    event = json.loads(line)
                    if "start" in event:
                        running, since = event["start"], time.perf_counter()
                        continue
                    running, next_case = None, event["done"] + 1
                    slowest = max(slowest, event["seconds"])
                    if event["problem"]:
                        failures[event["done"]] = event["problem"]
                        _keep(out, event["done"], event["problem"])
                    if next_case % 1000 == 0:
                        progress(f"{next_case - first:,} cases, {len(failures)} failing, slowest {slowest:.2f} s, "
                                 f"{time.perf_counter() - started:.0f} s")
            elif running is not None and time.perf_counter() - since > HANG_SECONDS:
                os.kill(child, signal.SIGKILL)
                failures[running] = f"hang: still running after {HANG_SECONDS:.0f} s"
                _keep(out, running, failures[running])
                next_case = running + 1
                break
        os.close(reading)
        _, status = os.waitpid(child, 0)
        if running is not None and running not in failures:  # the worker died during a case
            failures[running] = f"the worker died (status {status})"
            _keep(out, running, failures[running])
            next_case = running + 1
    return failures


def _keep(out: Path, number: int, problem: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    name, data = case_input(number)
    (out / name).write_bytes(data)
    (out / f"{name}.txt").write_text(problem + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--first", type=int, default=0, help="the number of the first case")
    parser.add_argument("--only", type=int, help="run just this case, in this process, and print what happens")
    parser.add_argument("--seconds", type=float, default=2.0, help="the most one case may take")
    parser.add_argument("--megabytes", type=float, default=500.0, help="the most memory the worker may reach")
    parser.add_argument("--out", type=Path, default=Path("out/fuzz"), help="where failing cases are written")
    options = parser.parse_args()
    if options.only is not None:
        from sparklec.compiler.stack import on_deep_stack

        name, data = case_input(options.only)
        with tempfile.TemporaryDirectory() as folder:
            print(on_deep_stack(lambda: run_case(name, data, Path(folder))) or "ok")
        return 0
    started = time.perf_counter()
    failures = fuzz(options.first, options.cases, options.seconds, options.megabytes, options.out,
                    lambda line: print(line, file=sys.stderr, flush=True))
    for number, problem in sorted(failures.items()):
        print(f"case {number}: {problem.splitlines()[-1] if problem.startswith('traceback') else problem}")
    print(f"{options.cases - len(failures)} passed, {len(failures)} failed "
          f"({time.perf_counter() - started:.0f} s; failing cases in {options.out})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
