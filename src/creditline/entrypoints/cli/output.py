"""How a command's result is printed: ``--format table`` for people (rich tables, piped
output as wide as a whole table), ``--format json`` for scripts.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from creditline.entrypoints.cli.views.base import View, Whole

__all__ = ["Format", "FormatOption", "emit"]

_PIPE_WIDTH = 160


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table for people, json for scripts.")
]


def emit(fmt: Format, view: View) -> None:
    _PRINTERS[fmt](view)


def _print_table(view: View) -> None:
    # Piped output gets room for a whole table instead of the 80 columns rich assumes.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
    for part in view.parts:
        # A link or a key is printed as one line, however narrow the terminal.
        console.print(part, soft_wrap=isinstance(part, Whole))


def _print_json(view: View) -> None:
    typer.echo(json.dumps(view.data, indent=2, ensure_ascii=False))


_PRINTERS: dict[Format, Callable[[View], None]] = {
    Format.TABLE: _print_table,
    Format.JSON: _print_json,
}
