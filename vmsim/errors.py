"""The one exception type for bad user input.

Every layer raises :class:`VmsimError` for input it cannot accept; the CLI turns it into one line
on stderr and exit code 2. Anything else escaping is a bug in vmsim.
"""

from __future__ import annotations


class VmsimError(Exception):
    """Bad input: a message fit to show a user as it is, naming the file, line or field."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)
