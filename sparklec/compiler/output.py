"""Safe, atomic output: sparklec replaces only what it wrote, and all generated files appear together.

Every output folder carries a manifest (`MANIFEST`) naming the sparklec
version, the command, the inputs and a hash of every file written.  A later
run replaces such a folder; anything else there is kept:

* files a user added are carried over into the new output;
* a generated file changed since it was written, or a user's file in the way
  of a new one, is refused (E512) unless `force` is given;
* an existing file, or a folder that is not empty and has no manifest, is
  refused (E511) unless `force` is given (its files are then kept as a user's);
* the current folder (or one holding it), the home folder, a filesystem root,
  a mount point, a symbolic link and a folder holding an input are always
  refused (E510).

The new output is staged beside the folder and swapped in whole (see
`sparklec.compiler.swap`); every operating-system error is a diagnostic
(E520), and a failure at any point leaves the previous output as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from sparklec import __version__
from sparklec.compiler import swap
from sparklec.diagnostics import Diagnostic, OutputError, Span, UsageError, os_error

MANIFEST = ".sparklec-manifest.json"
"""The file in every output folder that records what sparklec wrote there."""

Content = str | Callable[[Path], None]
"""A generated file: its text, or a function that writes it at the path it is given."""

_FORCE = "add --force to write into it anyway (`force=True` in Python)"
_OWN_FOLDER = "give -o a folder of sparklec's own: a new or empty one, or one it wrote before"
_NAME_LIMIT = 255


def path_problem(path: str) -> str | None:
    """Why the relative ``/``-separated `path` could leave the folder it is written in (None: it cannot)."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        return "it is empty, absolute, or has an empty, `.` or `..` part"
    if any(mark in path for mark in ("\\", ":", "\0")):
        return "it contains `\\`, `:` or a NUL character"
    if any(len(part.encode("utf-8", "surrogatepass")) > _NAME_LIMIT for part in parts):
        return f"a part of it is longer than {_NAME_LIMIT} bytes"
    return None


def check_name(name: str, what: str, span: Span | None = None) -> None:
    """Raise `UsageError` (E504) unless `name`, the name of `what`, is safe as one file or folder name."""
    problem = "it holds a `/`" if "/" in name else path_problem(name)
    if problem:
        raise UsageError([Diagnostic(
            code="E504", message=f"{what} is named `{name}`, which is not safe as a file name: {problem}",
            span=span, help="rename it: names used in file paths may not contain `/`, `\\`, `:` or NUL, nor be "
                            "`.` or `..`")])


def check_paths(files: Mapping[str, Content]) -> None:
    """Every generated path is relative and stays inside the output folder."""
    bad = [Diagnostic(code="E504", message=f"generated path `{path}` would leave the output folder: {problem}",
                      help="names used in file paths may not contain `..`, `/`, `\\` or `:`")
           for path in files if (problem := path_problem(path))]
    if bad:
        raise UsageError(bad)


def write_atomically(files: Mapping[str, Content], output: Path, *, inputs: Sequence[Path] = (),
                     force: bool = False, replace: bool = True, command: str = "") -> list[Path]:
    """Write `files` (relative path → content) as the folder `output`, whole or not at all.

    `inputs` are what the output is made from (an output folder may not hold
    them); `command` is recorded in the manifest.  With `replace`, files of an
    earlier output that are not generated again are removed; without it they
    stay (as `sparklec run` keeps the tables a run did not write).  Returns
    the paths written.  Raises `OutputError` when the folder is refused or
    cannot be written.
    """
    check_paths(files)
    shown = str(output) or "."
    folder = Path(os.path.abspath(output))
    try:
        _refuse_unsafe(folder, shown, inputs)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with swap.locked(folder.parent):
            swap.recover(folder)
            previous, kept = _survey(folder, shown, set(files), force, replace)
            staging = swap.staged_name(folder, "new")
            os.mkdir(staging)
            try:
                hashes = _stage(staging, folder, files, kept)
                hashes.update({path: previous[path] for path in kept if path in previous})
                manifest = {"generator": "sparklec", "version": __version__, "command": command,
                            "inputs": sorted(os.path.relpath(os.path.abspath(i), folder) for i in inputs),
                            "files": dict(sorted(hashes.items()))}
                (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
                staging.chmod(0o755)
                swap.swap_in(staging, folder)
            except BaseException:  # the new output goes; the previous one is put back if it was moved
                swap.recover(folder)
                raise
    except OSError as error:
        raise OutputError([os_error(_as_written(error, folder), "write")]) from None
    return [folder.joinpath(*PurePosixPath(p).parts) for p in sorted(files)]


def _as_written(error: OSError, folder: Path) -> OSError:
    """`error`, naming the path in `folder` where it named one in a staging folder beside it."""
    if error.filename is not None:
        error.filename = str(swap.unstaged(Path(os.fsdecode(error.filename)), folder))
    return error


def _refuse_unsafe(folder: Path, shown: str, inputs: Sequence[Path]) -> None:
    """Folders sparklec never replaces, whatever the options (E510)."""
    resolved = folder.parent.resolve() / folder.name
    reason = None
    if folder.is_symlink():
        reason = "is a symbolic link (sparklec never writes through one)"
    elif resolved.parent == resolved or resolved == Path(resolved.anchor):
        reason = "is a filesystem root"
    elif resolved == Path.home().resolve():
        reason = "is your home folder"
    elif Path.cwd().resolve().is_relative_to(resolved):
        reason = "is the current folder" if Path.cwd().resolve() == resolved else "holds the current folder"
    elif resolved.is_dir() and os.path.ismount(resolved):
        reason = "is a mount point (it cannot be replaced as a whole)"
    else:
        held = [str(i) for i in inputs if Path(os.path.abspath(i)).resolve().is_relative_to(resolved)]
        if held:
            reason = f"holds the input `{held[0]}`"
    if reason:
        raise OutputError([Diagnostic(
            code="E510", message=f"will not write the output to `{shown}`: it {reason}", help=_OWN_FOLDER)])


def _survey(folder: Path, shown: str, new: set[str], force: bool,
            replace: bool) -> tuple[dict[str, str], list[str]]:
    """What `folder` holds now: the files of its manifest (path → hash) and the entries to carry over.

    Raises `OutputError` for a folder that is not sparklec's (E511) and for
    files that would be lost (E512), unless `force`."""
    if not os.path.lexists(folder):
        return {}, []
    if not folder.is_dir():
        if not force:
            raise OutputError([Diagnostic(code="E511", message=f"will not write the output to `{shown}`: it is a "
                                                               "file, not a folder",
                                          help=f"give a folder with -o, or {_FORCE} (the file is replaced)")])
        return {}, []
    entries = dict(_entries(folder, folder.stat().st_dev))
    previous = _read_manifest(folder)
    entries.pop(MANIFEST, None)
    if previous is None:
        if entries and not force:
            raise OutputError([Diagnostic(
                code="E511", message=f"will not write the output to `{shown}`: it holds files sparklec did not "
                                     f"write ({_listing(entries)})",
                help=f"give an empty or new folder with -o, or {_FORCE} (files it does not generate are kept)")])
        previous = {}
    generated_dirs = {str(parent) for path in previous for parent in PurePosixPath(path).parents}
    changed = [p for p in previous if p in entries and (entries[p] != "file" or _hash(folder / p) != previous[p])]
    in_the_way = [p for p, kind in entries.items() if p not in previous and kind != "dir" and _collides(p, new)]
    kept = [p for p, kind in entries.items()
            if p not in new and not _collides(p, new)
            and (p not in previous or (not replace and p not in changed))
            and (kind != "dir" or p not in generated_dirs)]
    problems = []
    if changed:
        problems.append(f"sparklec wrote {_listing(changed)} and it was changed since")
    if in_the_way:
        problems.append(f"{_listing(in_the_way)}, which sparklec did not write, is in the way of the new output")
    if problems and not force:
        raise OutputError([Diagnostic(code="E512", message=f"will not replace `{shown}`: {'; '.join(problems)}",
                                      help=f"move those files away, or {_FORCE} (they are overwritten)")])
    return previous, kept


def _collides(path: str, new: set[str]) -> bool:
    """Whether the existing entry `path` stands where a new file goes (as that file, or a folder of it)."""
    return path in new or any(str(parent) in new for parent in PurePosixPath(path).parents) \
        or any(n.startswith(f"{path}/") for n in new)


def _entries(folder: Path, device: int, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every entry below `folder` (relative path, kind: file, dir, link or other), symbolic links not followed;
    an empty folder is listed, a folder with entries only through them."""
    with os.scandir(folder) as scan:
        found = sorted(scan, key=lambda e: e.name)
    for entry in found:
        path = f"{prefix}{entry.name}"
        if entry.is_symlink():
            yield path, "link"
        elif entry.is_dir(follow_symlinks=False):
            if entry.stat(follow_symlinks=False).st_dev != device:
                raise OutputError([Diagnostic(code="E510", message=f"will not replace `{folder / entry.name}`'s "
                                                                   "folder: it holds a mount point",
                                              help=_OWN_FOLDER)])
            inner = list(_entries(Path(entry.path), device, f"{path}/"))
            yield from inner or [(path, "dir")]
        else:
            yield path, "file" if entry.is_file(follow_symlinks=False) else "other"


def _listing(paths: Sequence[str] | Mapping[str, str], most: int = 5) -> str:
    names = sorted(paths)
    shown = ", ".join(f"`{n}`" for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _read_manifest(folder: Path) -> dict[str, str] | None:
    """The files (path → hash) of `folder`'s manifest; None when it has none, or one sparklec did not write."""
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) and manifest.get("generator") == "sparklec" else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return None
    return files


def _stage(staging: Path, folder: Path, files: Mapping[str, Content], kept: Sequence[str]) -> dict[str, str]:
    """Write `files` under `staging` and carry the `kept` entries of `folder` over; the hashes of the files."""
    hashes = {}
    for path in sorted(files):
        target = staging.joinpath(*PurePosixPath(path).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        content = files[path]
        if isinstance(content, str):
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(content)
        else:
            content(target)
        if path.endswith(".sh"):
            target.chmod(0o755)
        hashes[path] = _hash(target)
    for path in kept:
        source, target = folder / path, staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        _carry(source, target)
    return hashes


def _carry(source: Path, target: Path) -> None:
    """Put `source` at `target` too: a hard link to a file, a copy of a symbolic link, a new empty folder."""
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_dir():
        target.mkdir(mode=source.stat().st_mode & 0o7777)
    else:
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, target, follow_symlinks=False)


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
