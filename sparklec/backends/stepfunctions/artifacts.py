"""The artifacts of Kubernetes jobs, moved to and from S3 by containers of the job's pod, and warnings for
the artifacts Step Functions does not move (those of ECS and Batch tasks, and those kept outside S3)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from typing_extensions import assert_never

from sparklec.diagnostics import Diagnostic, LoweringError, Severity
from sparklec.ir.policy import Artifact
from sparklec.ir.template import Ref, pieces
from sparklec.lowering import Level, PlanBranch, PlanLoop, PlanTask

if TYPE_CHECKING:
    from sparklec.backends.stepfunctions.integrations import Integrations
    from sparklec.backends.stepfunctions.machine import Scope

RUN_KEY = {"sparklec.bucket": "'${ArtifactBucket}'", "sparklec.execution": "$$.Execution.Name"}
"""The names an artifact's default location is written with, each to its intrinsic argument."""


class ArtifactMoves:
    """The artifact moves of the tasks `of` lowers."""

    def __init__(self, of: Integrations):
        self.of = of

    def pod(self, task: PlanTask, main: dict[str, Any], scope: Scope) -> dict[str, Any]:
        """The pod spec of a Kubernetes job whose container is `main`, with the moves of the task's artifacts."""
        moved = [(output, artifact, location) for output, artifacts in ((False, task.inputs), (True, task.outputs))
                 for artifact in artifacts if (location := self.location(task, artifact, scope))]
        if not moved:
            return {"restartPolicy": "Never", "containers": [main]}
        return self.moving(main, moved, scope)

    def moving(self, main: dict[str, Any], moved: list[tuple[bool, Artifact, str]], scope: Scope) -> dict[str, Any]:
        """A pod that copies each input from S3 to its path before `main` runs, and each output from its path to
        S3 after `main` succeeds.  Init containers run one by one, so `main` is the last of them when there are
        outputs, and the uploads are the pod's containers.  Each artifact is an ``emptyDir`` volume: mounted at
        the path when that is a directory (synced), or holding the file that `main` mounts (copied) when the
        path's last part has an extension."""
        image = self.of.stack.parameter("AwsCliImage", "Image with the AWS CLI that moves artifacts to and from S3",
                                        "public.ecr.aws/aws-cli/aws-cli:2.22.0")
        account = self.of.stack.parameter("EksArtifactServiceAccount", "Kubernetes service account whose IAM role "
                                          "reads and writes the artifacts' S3 locations", "default")
        volumes: list[dict[str, Any]] = []
        before: list[dict[str, Any]] = []
        after: list[dict[str, Any]] = []
        for output, artifact, location in moved:
            volume = f"artifact-{len(volumes)}"
            volumes.append({"name": volume, "emptyDir": {}})
            if PurePosixPath(artifact.path).suffix:
                name = PurePosixPath(artifact.path).name
                main.setdefault("volumeMounts", []).append({"name": volume, "mountPath": artifact.path, "subPath": name})
                mount, local, copy = {"name": volume, "mountPath": "/artifact"}, f"/artifact/{name}", "cp"
                if output:
                    before.append({"name": f"create-{volume}", "image": image, "command": ["touch", local],
                                   "volumeMounts": [mount]})
            else:
                mount, local, copy = {"name": volume, "mountPath": artifact.path}, artifact.path, "sync"
                main.setdefault("volumeMounts", []).append(mount)
            ends = (local, location) if output else (location, local)
            (after if output else before).append({
                "name": f"{'upload' if output else 'fetch'}-{volume}", "image": image,
                **self.of.texts("command", ("aws", "s3", copy, *ends), scope, RUN_KEY), "volumeMounts": [mount]})
        pod: dict[str, Any] = {"restartPolicy": "Never", "serviceAccountName": account, "volumes": volumes}
        if after:
            return pod | {"initContainers": [*before, main], "containers": after}
        return pod | {"initContainers": before, "containers": [main]}

    def location(self, task: PlanTask, artifact: Artifact, scope: Scope) -> str | None:
        """The S3 location of `artifact`: its own, that of the output it comes from, or, for an output without
        one, a key of the run's own (and the loop item's) under the `ArtifactBucket`; None, with a warning,
        for an artifact kept elsewhere."""
        named, producer, producer_vars = artifact, task.name, scope.vars
        if artifact.source is not None:
            producer, _, output = artifact.source.partition(".")
            enclosing = _enclosing(self.of.plan.steps, producer)
            assert enclosing is not None, "the verifier checks that artifacts come from tasks of the pipeline"
            producer_vars, found = enclosing
            named = next(o for o in found.outputs if o.name == output)
        if named.location is None and named.store is None and (named is not artifact or artifact in task.outputs):
            outside = sorted(set(producer_vars) - set(scope.vars))
            self.of.stack.parameter("ArtifactBucket", "S3 bucket that keeps the artifacts passed between tasks")
            item = "".join(f"/{var}=${{{var}}}" for var in producer_vars)
            location = f"s3://${{sparklec.bucket}}/{self.of.plan.pipeline}/${{sparklec.execution}}/{producer}{item}/" \
                       + named.name
        elif named.location is None or named.store != "s3":
            self.of.machine.notes.append(Diagnostic(
                code="W404", severity=Severity.WARNING, span=named.span,
                message=f"the artifact `{named.name}` of `{task.name}` is not moved: "
                        + (f"it is kept on {named.store}, and Step Functions moves S3 artifacts" if named.store
                           else "it has no location to be read from"),
                help=f'keep it on S3 (`"{named.path}" s3 "s3://bucket/key"`), or copy it inside the container'))
            return None
        else:
            location = named.location
            known = {*scope.vars, *(p.name for p in self.of.plan.parameters)}
            outside = sorted({part.name for part in pieces(location) if isinstance(part, Ref)} - known)
        if artifact.source is not None and outside:
            raise LoweringError([Diagnostic(
                code="E402", message=f"`{task.name}` reads `{artifact.source}` from inside the loop of "
                                     f"`{outside[0]}`, where `{task.name}` is not", span=artifact.span,
                help="read it in the same loop, or give the input a location of its own")])
        return location

    def unmoved(self, task: PlanTask, service: str) -> None:
        """Warn that the artifacts of a task on a service whose containers cannot be chained with the moves
        are not moved."""
        if task.inputs or task.outputs:
            self.of.machine.notes.append(Diagnostic(
                code="W404", severity=Severity.WARNING, span=task.span,
                message=f"the artifacts of `{task.name}` are not moved: Step Functions moves artifacts for "
                        f"Kubernetes jobs, not on {service}",
                help="run it with `runtime k8s` (EKS), or copy the files inside the container"))


def _enclosing(level: Level, name: str, loops: tuple[str, ...] = ()) -> tuple[tuple[str, ...], PlanTask] | None:
    """The variables of the loops around the task `name`, and the task."""
    for step in level.steps:
        match step:
            case PlanTask():
                if step.name == name:
                    return loops, step
            case PlanLoop():
                found = _enclosing(step.body, name, (*loops, step.var))
                if found is not None:
                    return found
            case PlanBranch():
                found = _enclosing(step.then, name, loops) or _enclosing(step.otherwise, name, loops)
                if found is not None:
                    return found
            case _:
                assert_never(step)
    return None
