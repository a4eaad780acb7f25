"""Replacing a folder as a whole: a staging folder beside it, an atomic exchange, and recovery after a crash.

The staging folder and the folder the previous output waits in are named
``.<name>.sparklec-new-<hex>`` and ``.<name>.sparklec-old-<hex>``: names no
user folder has by chance.  On Linux the two folders are swapped with one
``renameat2(RENAME_EXCHANGE)``, so the folder is the old output or the new one
at every instant; elsewhere (or on a filesystem without it) two renames are
used, and a run that was killed between them is repaired by the next one.
Symbolic links are never followed, renamed or deleted through.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: runs are not kept from swapping beside each other
    fcntl = None  # type: ignore[assignment]

_STAGED = re.compile(r"\.(?P<name>.+)\.sparklec-(?P<kind>new|old)-[0-9a-f]{12}")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def staged_name(folder: Path, kind: str) -> Path:
    """A fresh sibling name for `folder` of the given `kind` (``new`` or ``old``)."""
    return folder.with_name(f".{folder.name}.sparklec-{kind}-{secrets.token_hex(6)}")


def unstaged(path: Path, folder: Path) -> Path:
    """`path`, or the path in `folder` it stands for when it is (or is inside) a staging folder of `folder`."""
    parts = path.relative_to(folder.parent).parts if path.is_relative_to(folder.parent) else ()
    return folder.joinpath(*parts[1:]) if parts and _leftover_name(Path(parts[0]), folder.name) else path


def _leftover_name(path: Path, name: str) -> bool:
    match = _STAGED.fullmatch(path.name)
    return match is not None and match["name"] == name


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (a directory) so that two runs never swap beside each other at once."""
    if fcntl is None:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def recover(folder: Path) -> None:
    """Put right what a killed run left beside `folder`: the previous output back in place if `folder` is
    missing, then every staging and previous-output folder removed."""
    leftovers = sorted((p for p in folder.parent.iterdir() if _leftover_of(p, folder.name)),
                       key=lambda p: p.lstat().st_mtime_ns)
    if not os.path.lexists(folder):
        previous = [p for p in leftovers if _STAGED.fullmatch(p.name)["kind"] == "old"]  # type: ignore[index]
        if previous:
            os.rename(previous[-1], folder)
            leftovers.remove(previous[-1])
    for leftover in leftovers:
        remove(leftover)


def _leftover_of(path: Path, name: str) -> bool:
    return _leftover_name(path, name) and not path.is_symlink() and path.is_dir()


def swap_in(staging: Path, folder: Path) -> None:
    """Make `staging` be `folder`, and remove what `folder` held before (if that fails, the next run's
    `recover` removes it: the new output is in place either way)."""
    if not os.path.lexists(folder):
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        previous = staging
    else:
        previous = staged_name(folder, "old")
        os.rename(folder, previous)
        os.rename(staging, folder)
    with contextlib.suppress(OSError):
        remove(previous)


def remove(path: Path) -> None:
    """Delete `path` (a folder with everything in it, or a file); a symbolic link inside is removed, never
    followed."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


@functools.cache
def _renameat2() -> Any:
    """The C library's ``renameat2``, or None where it has none."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system or the filesystem cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))
