"""The Python API: find a pipeline, build it, and deploy it for an orchestrator — or compile it in memory.

    from sparklec import Pipeline

    pipeline = Pipeline.get("customer_silver_daily", env="prod")
    pipeline.build()
    pipeline.deploy(orchestrator="dbt")   # writes deployments/dbt/customer_silver_daily/

Every failure raises a `SparklecError` carrying the same diagnostics the
command line prints (file, line, column, what is wrong and how to fix it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from sparklec.ir.pipeline import ENVS
from sparklec.backends import Artifacts, get_backend
from sparklec.compiler import driver
from sparklec.diagnostics import Diagnostic, FrontendError, SparklecError, UsageError
from sparklec.compiler.output import check_name, write_atomically
from sparklec.compiler.stack import on_deep_stack
from sparklec.ir.pipeline import Project

if TYPE_CHECKING:
    import networkx

DSL_FILE = "<dsl>"
"""How diagnostics name `.spk` text given to `Pipeline.from_dsl`."""
DEPLOYMENTS = Path("deployments")
"""Where `Pipeline.deploy` writes by default: ``deployments/<orchestrator>/<pipeline>/``."""


class Pipeline:
    """A pipeline — or a project of pipelines linked by their dependencies — to build and deploy.

    Make one with `get`, `from_file`, `from_dsl` or `from_ir`.  Nothing is read
    or checked until it is needed: `validate` reports every problem at once,
    and `build`, `compile` and `deploy` raise a `SparklecError` with them.
    """

    def __init__(self, *, paths: tuple[Path, ...] = (), text: str | None = None, ir: Project | None = None,
                 env: str | None = None, environ: Mapping[str, str] | None = None):
        """Use `get`, `from_file`, `from_dsl` or `from_ir` instead."""
        _check_env(env)
        self._paths = paths
        self._text = text
        self._env = env
        self._environ = environ
        self._ir = ir
        self._verified: Project | None = None
        self._built: Project | None = None
        self.warnings: list[Diagnostic] = []
        """Warnings and notes from reading, checking and lowering the pipeline so far."""

    @classmethod
    def get(cls, name: str, env: str | None = None, config_dir: str | os.PathLike[str] = ".") -> Pipeline:
        """The pipeline called `name` in `config_dir` (default: the current directory), looked up as

        1. ``<config_dir>/<name>/<env>.json|.yaml|.yml`` (or a folder holding the project's pipelines),
           else ``<config_dir>/config/orchestration/<name>/<env>...``, where Sparkle's loader looks from the
           project's root,
        2. ``<config_dir>/<name>.spk``, ``.json``, ``.yaml`` or ``.yml``,
        3. the one file so named anywhere below `config_dir`.

        Raises `FrontendError` when there is no such pipeline (or more than one file could be it).
        """
        _check_env(env)
        return cls(paths=(find_pipeline(name, Path(config_dir), env),), env=env)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], env: str | None = None,
                  environ: Mapping[str, str] | None = None) -> Pipeline:
        """The pipelines of a `.spk` file, a Sparkle config or a folder of them.  `environ` supplies
        ``${VARIABLE}`` values in configs (default: the process environment).  A path that does not exist is an
        error at once."""
        if not Path(path).exists():
            raise FrontendError([Diagnostic(code="E501", message=f"no such file or directory: `{path}`",
                                            help="give a .spk file, a Sparkle config or a folder of them")])
        return cls(paths=(Path(path),), env=env, environ=environ)

    @classmethod
    def from_dsl(cls, text: str, env: str | None = None) -> Pipeline:
        """The pipelines of `.spk` text (diagnostics name it ``<dsl>`` and quote it)."""
        return cls(text=text, env=env)

    @classmethod
    def from_ir(cls, project: Project) -> Pipeline:
        """Pipelines already in sparklec's IR (for example from `sparklec.testing`); checked when used."""
        return cls(ir=project)

    @property
    def name(self) -> str:
        """The pipeline's name (a project of several: the project's)."""
        return self.ir().name

    def ir(self) -> Project:
        """The verified IR as read, before optimisation."""
        if self._verified is None:
            ir, text = self._ir, self._text
            if ir is not None:
                project, warnings = on_deep_stack(lambda: driver.verified(ir, []))
            elif text is not None:
                try:
                    project, warnings = on_deep_stack(lambda: driver.load_dsl(text, DSL_FILE, env=self._env))
                except SparklecError as error:
                    error.sources[DSL_FILE] = text
                    raise
            else:
                project, warnings = on_deep_stack(
                    lambda: driver.load(list(self._paths), env=self._env, environ=self._environ))
            self._verified = project
            self.warnings.extend(warnings)
        return self._verified

    def build(self) -> Project:
        """The verified, optimised IR.  Built once: calling `build` again returns the same IR."""
        if self._built is None:
            ir = self.ir()
            self._built = on_deep_stack(lambda: driver.optimise(ir))
        return self._built

    def validate(self, orchestrator: str | None = None, **options: object) -> list[Diagnostic]:
        """Every error, warning and note about the pipeline — and, given an orchestrator, about lowering it
        for that orchestrator — returned instead of raised (no errors: it can be deployed)."""
        try:
            if orchestrator is None:
                return [*self.warnings, *driver.check_sql(self.build())]
            self.compile(orchestrator, **options)
        except SparklecError as error:
            return [*self.warnings, *error.diagnostics]
        return list(self.warnings)

    def compile(self, orchestrator: str, **options: object) -> Artifacts:
        """The files for `orchestrator`, in memory: relative path → text (see `sparklec.compile`)."""
        get_backend(orchestrator)  # an unknown name fails before any work
        project, texts = self.build(), _option_texts(options)
        artifacts = on_deep_stack(lambda: driver.lower(project, orchestrator, texts))
        artifacts = artifacts if isinstance(artifacts, Artifacts) else Artifacts(artifacts)
        self.warnings.extend(note for note in artifacts.notes if note not in self.warnings)
        return artifacts

    def deploy(self, orchestrator: str, output: str | os.PathLike[str] | None = None, *, force: bool = False,
               **options: object) -> list[Path]:
        """Compile for `orchestrator` and write the files to `output` (default:
        ``deployments/<orchestrator>/<pipeline>/``), replacing an earlier output as a whole or not at all.
        Files sparklec did not write are kept, and a folder it did not write is refused unless `force` (see
        `sparklec.compiler.output`).  `options` are the backend's options (`-O key=value` on the command
        line).  Returns the files written."""
        artifacts = self.compile(orchestrator, **options)
        if output is None:
            check_name(self.name, "the pipeline")
            folder = DEPLOYMENTS / get_backend(orchestrator).deployment_folder(self.name)
        else:
            folder = Path(output)
        return write_atomically(artifacts, folder, inputs=self._paths, force=force,
                                command=f"Pipeline.deploy(orchestrator={orchestrator!r})")

    def graph(self) -> Graph:
        """The DAG of the built pipeline, drawn as a Mermaid flowchart in notebooks."""
        return Graph(self.build())

    def __repr__(self) -> str:
        if self._text is not None:
            source = DSL_FILE
        elif self._ir is not None:
            source = f"<ir {self._ir.name}>"
        else:
            source = ", ".join(str(path) for path in self._paths)
        return f"Pipeline({source}{f', env={self._env}' if self._env else ''})"


@attrs.frozen
class Graph:
    """The steps of a project and what each waits for: `mermaid()` and `dot()` draw it (notebooks show the
    Mermaid flowchart); `networkx()` is the graph of every step."""

    project: Project

    def mermaid(self) -> str:
        """A Mermaid flowchart: a subgraph per pipeline, loop and branch."""
        from sparklec.compiler.picture import render_graph

        return render_graph(self.project, "mermaid")

    def dot(self) -> str:
        """The same picture in Graphviz DOT."""
        from sparklec.compiler.picture import render_graph

        return render_graph(self.project, "dot")

    def networkx(self) -> networkx.DiGraph:
        """A `networkx.DiGraph` of every step (``<pipeline>.<step>``), with the edges they wait for."""
        import networkx as nx

        from sparklec.ir.graph import flat_graph

        whole = nx.DiGraph()
        for pipeline in self.project.pipelines:
            whole.update(nx.relabel_nodes(flat_graph(pipeline), lambda step, p=pipeline.name: f"{p}.{step}"))
        return whole

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.mermaid()}```\n"

    def __str__(self) -> str:
        return self.mermaid()


def compile(source: Pipeline | Project | str | os.PathLike[str], backend: str, *, env: str | None = None,
            **options: object) -> Artifacts:
    """The files `backend` makes of `source` — a `Pipeline`, IR, or the path of a `.spk` file, Sparkle
    config or folder — in memory (relative path → text), exactly as ``sparklec SOURCE --backend BACKEND``
    writes them.  Nothing is written to disk."""
    if isinstance(source, Pipeline):
        pipeline = source
    elif isinstance(source, Project):
        pipeline = Pipeline.from_ir(source)
    elif isinstance(source, str) and "{" in source and not os.path.exists(source):  # False for any bad path
        raise UsageError([Diagnostic(code="E501", message="`source` looks like .spk text, not a path",
                                     help="compile text with `sparklec.compile(Pipeline.from_dsl(text), backend)`")])
    else:
        pipeline = Pipeline.from_file(source, env=env)
    return pipeline.compile(backend, **options)


def find_pipeline(name: str, config_dir: Path, env: str | None) -> Path:
    """The file or folder `Pipeline.get` reads for `name` (see there)."""
    for folder in (config_dir / name, config_dir / "config" / "orchestration" / name):
        if folder.is_dir():
            return folder
    for suffix in driver.INPUT_SUFFIXES:
        if (config_dir / f"{name}{suffix}").is_file():
            return config_dir / f"{name}{suffix}"
    found = sorted(p for p in config_dir.rglob(f"{name}.*") if p.suffix in driver.INPUT_SUFFIXES and p.is_file()) \
        if config_dir.is_dir() else []
    if len(found) == 1:
        return found[0]
    where = f"`{config_dir}/{name}/{env or '<env>'}.json`, `{config_dir}/{name}.spk` or `{name}.json|.yaml` below it"
    if found:
        raise FrontendError([Diagnostic(
            code="E501", message=f"{len(found)} files could be pipeline `{name}`: "
                                 + ", ".join(f"`{p}`" for p in found),
            help="give the file with `Pipeline.from_file`, or a `config_dir` that holds only one")])
    raise FrontendError([Diagnostic(code="E501", message=f"no pipeline `{name}` in `{config_dir}`",
                                    help=f"sparklec looks for {where}; pass `config_dir=` to look elsewhere")])


def _check_env(env: str | None) -> None:
    if env is not None and env not in ENVS:
        raise UsageError([Diagnostic(code="E505", message=f"`{env}` is not an environment",
                                     help=f"use one of {', '.join(ENVS)}")])


def _option_texts(options: Mapping[str, object]) -> dict[str, str]:
    """Backend options as the command line passes them (`True` → ``true``)."""
    return {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in options.items()}
