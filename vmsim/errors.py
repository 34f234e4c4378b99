"""The one exception type for bad user input.

Every layer raises :class:`VmsimError` for input it cannot accept; the CLI turns it into one line
on stderr and exit code 2. Anything else escaping is a bug in vmsim.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class VmsimError(Exception):
    """Bad input: a message fit to show a user as it is, naming the file, line or field."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)


def read_json(path: str | Path, what: str = "file") -> Any:
    """A JSON file's contents; a missing, unreadable or malformed file is one VmsimError naming
    the file (and the line, for bad JSON). ``what`` names the file in "no such ..."."""
    p = Path(path)
    src = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VmsimError(f"no such {what}", source=src) from None
    except IsADirectoryError:
        raise VmsimError(f"is a directory, not a {what}", source=src) from None
    except (OSError, UnicodeDecodeError) as e:
        raise VmsimError(f"cannot read: {getattr(e, 'strerror', None) or e}", source=src) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise VmsimError(f"invalid JSON: {e.msg} (column {e.colno})", source=src, line=e.lineno) from None
