"""The README's "What works today" table names exactly the commands the CLI has."""

from __future__ import annotations

import re

import typer

from airgapctl.cli import GROUPS, app
from airgapctl.cli.reference import iter_commands

# A table row's first cell: `airgapctl GROUP a/b/c` (a command of a nested group as `ledger verify`).
ROW = re.compile(r"^\| `airgapctl (?P<group>[\w-]+)(?: (?P<commands>[^`]+))?` \|", re.MULTILINE)


def readme_commands(repo) -> dict[str, set[str]]:
    text = (repo / "README.md").read_text()
    section = text.split("## What works today", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for row in ROW.finditer(section):
        assert row["group"] not in table, f"README names airgapctl {row['group']} in two rows"
        commands = row["commands"]
        table[row["group"]] = {" ".join(c.split()) for c in commands.split("/")} if commands else set()
    return table


def cli_commands() -> dict[str, set[str]]:
    """Each group's runnable commands, as paths below the group ("ledger verify"); a command
    that is not a group (provision) has none."""
    tree: dict[str, set[str]] = {}
    for path, command in iter_commands(typer.main.get_command(app)):
        if len(path) < 2:
            continue
        group, below = path[1], path[2:]
        tree.setdefault(group, set())
        if below and not hasattr(command, "list_commands"):
            tree[group].add(" ".join(below))
    return tree


def test_the_table_parses(repo):
    assert set(readme_commands(repo)) == set(GROUPS)


def test_the_table_lists_every_command_and_no_other(repo):
    readme, cli = readme_commands(repo), cli_commands()
    missing = {group: sorted(cli[group] - readme.get(group, set())) for group in cli}
    invented = {group: sorted(readme[group] - cli.get(group, set())) for group in readme}
    assert {g: c for g, c in missing.items() if c} == {}, "commands the README table does not name"
    assert {g: c for g, c in invented.items() if c} == {}, "commands the README table names that do not exist"
    assert set(readme) == set(cli)
