"""The names of the trace formats, without importing a reader (the command line lists them)."""

from __future__ import annotations

from typing import Final

FORMATS: Final = ("lackey", "pitt", "rw", "pid", "pages", "txt", "oracleGeneral", "vmsim")
#: Formats read from bytes, not lines.
BINARY: Final = ("oracleGeneral", "vmsim")
#: Another name of a format: libCacheSim's ``txt`` (one object id per line) is ``pages``.
ALIAS: Final = {"txt": "pages"}
