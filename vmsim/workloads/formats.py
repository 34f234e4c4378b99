"""The names of the trace formats, without importing a reader (the command line lists them)."""

from __future__ import annotations

from typing import Final

FORMATS: Final = ("lackey", "pitt", "rw", "pid", "pages", "txt", "oracleGeneral", "vmsim", "csv")
#: Formats not read as lines by the text parsers: the binary ones, and csv (never detected).
BINARY: Final = ("oracleGeneral", "vmsim", "csv")
#: Another name of a format: libCacheSim's ``txt`` (one object id per line) is ``pages``.
ALIAS: Final = {"txt": "pages"}
