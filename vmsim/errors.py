"""The one exception type for bad user input.

Every layer raises :class:`VmsimError` for input it cannot accept; the CLI turns it into one line
on stderr and exit code 2. Anything else escaping is a bug in vmsim.

Files vmsim writes go through :func:`check_output` (before any work: nothing a user supplied is
overwritten without ``--force``) and :func:`replacing` (a temporary file beside the target, renamed
into place, so an interrupted write never leaves half a file where the user's file was).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


class VmsimError(Exception):
    """Bad input: a message fit to show a user as it is, naming the file, line or field.

    ``source`` (a file, or an option such as ``--set``), ``line`` and ``field`` (a dotted path in
    a scenario, or a parameter) are kept apart from the message, so callers can tell errors apart
    without parsing text; ``reason`` is the message without the ``source:line:`` prefix."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None, field: str | None = None) -> None:
        self.reason = " ".join(message.split("\n")) if "\n" in message else message
        self.source = source
        self.line = line
        self.field = field
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + self.reason)

    def at(self, source: str | None, line: int | None = None, field: str | None = None) -> VmsimError:
        """The same error (same class and fields) placed in a file, at a line and field (named at
        the front of the message), unless it already names a file."""
        if self.source is not None:
            return self
        field = field or self.field
        reason = self.reason
        if field and not reason.startswith(field):
            reason = f"{field}: {reason}"
        err = type(self).__new__(type(self))
        err.__dict__.update(self.__dict__)
        VmsimError.__init__(err, reason, source=source, line=line, field=field)
        return err


class ScenarioError(VmsimError):
    """A scenario file (or a ``--set`` / ``--vary`` value) the schema or a workload rejects;
    ``field`` is the dotted path of the offending key, e.g. ``processes.0.workload.pages``."""


class PolicyError(VmsimError):
    """A replacement policy unknown, or given a parameter it does not take or out of range;
    ``policy`` and ``param`` name them."""

    def __init__(self, message: str, *, policy: str | None = None, param: str | None = None, **kw: Any) -> None:
        self.policy = policy
        self.param = param
        super().__init__(message, **kw)


class TraceError(VmsimError):
    """A trace file that cannot be read in its format; ``source`` and ``line`` locate it."""


class OptionError(VmsimError):
    """A command-line option with a value vmsim cannot use; ``field`` names the option."""


class FileExistsRefusal(VmsimError):
    """An output path that already exists, refused without ``--force``."""


def read_json(path: str | Path, what: str = "file") -> Any:
    """A JSON file's contents; a missing, unreadable or malformed file (or one past the bounds of
    :mod:`vmsim.readers`) is one VmsimError naming the file (and the line, for bad JSON). ``what``
    names the file in "no such ..."."""
    from vmsim.readers import read_json as read  # readers imports this module

    return read(path, what)


def check_output(path: str | Path, *, force: bool = False, hint: str = "use --force to replace it", mkdir: bool = False) -> Path:
    """Refuse, up front, an output path that cannot or must not be written: a directory, a file in a
    directory that does not exist (unless ``mkdir``: the caller creates it), or an existing file
    without ``force`` (``hint`` says how to allow it). Returns the path."""
    p = Path(path)
    src = str(p)
    try:
        if p.is_dir():
            raise VmsimError("is a directory; give a file name to write", source=src)
        parent = p.parent
        if not mkdir and not parent.is_dir():
            what = "is not a directory" if parent.exists() else "does not exist"
            raise VmsimError(f"cannot write it: the directory {parent} {what}", source=src)
        if (p.exists() or p.is_symlink()) and not force:
            raise FileExistsRefusal(f"already exists; not overwriting it ({hint})", source=src)
    except OSError as e:  # a name too long for the file system, a path through a file, ...
        raise VmsimError(f"cannot write it: {e.strerror or e}", source=src[:200]) from None
    return p


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends,
    removed if it raises (or is interrupted), so ``path`` is only ever the old file or the whole
    new one."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, p)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
