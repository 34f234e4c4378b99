"""``policies`` and ``new-policy``: the registered replacement policies, and a skeleton for a new one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def policies_cmd() -> None:
    """List the replacement policies with their aliases, parameters and where they come from."""
    from vmsim.policies import available, lookup, origin_of, param_info

    rows = []
    for name in available():
        cls = lookup(name)
        params = ", ".join(f"{k}={str(d).lower() if isinstance(d, bool) else d}" for k, (_, d, _) in param_info(cls).items())
        rows.append([name, ", ".join(cls.aliases), params or "-", cls.summary or "-", origin_of(name)])
    from tabulate import tabulate

    typer.echo(tabulate(rows, headers=["policy", "aliases", "parameters", "description", "from"]))


def new_policy(
    name: Annotated[str, typer.Argument(help="The new policy's name: lower-case letters, digits and _ (e.g. my_lfu).")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to write NAME.py and test_NAME.py.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite the files if they exist.")] = False,
) -> None:
    """Write a documented skeleton policy NAME.py (a working FIFO to change) and its tests test_NAME.py."""
    from vmsim.policies._skeleton import class_name, write_skeleton

    policy, tests = write_skeleton(name, directory, overwrite=force)
    typer.echo(f"{policy}: written\n{tests}: written")
    typer.echo(f'try: vmsim --policy-file {policy}:{class_name(name)} refs "1 2 3 4 1 2 5 1 2 3 4 5" -f 3 -p {name} --explain')
    typer.echo(f"test: python -m pytest {tests}")
