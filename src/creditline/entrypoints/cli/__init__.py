"""The ``creditline`` command: a thin shell over :class:`creditline.Creditline`.

Each command parses its arguments, makes one call on the engine and renders the
result as a table (``--format table``, the default) or as JSON (``--format json``,
for scripts; see :mod:`creditline.entrypoints.cli.views`). Amounts on the command line
are decimal credits (``2.5``); the engine counts in micro-credits.

Every error the engine raises on purpose becomes one line on stderr, ``error: ...``,
and the exit code that :data:`EXIT_CODES` gives its class; nothing else decides an
exit code. Usage mistakes (an unknown option, a bad choice) are click's and exit 2.

The package: :mod:`.app` (the app, its global options, opening the engine),
:mod:`.output` (formats), :mod:`.options` (shared options and their parsers),
:mod:`.errors` (the CLI's errors and the exit-code table), one module per command
group, :mod:`.views` (how results look), :mod:`.demo` (the demo's story) and
:mod:`.program`, which registers every group on the app.
"""

from creditline.entrypoints.cli.errors import (
    EXIT_CODES,
    UsageRefused,
    UsageRejected,
    VerificationFailed,
)
from creditline.entrypoints.cli.program import app, main

__all__ = ["EXIT_CODES", "UsageRefused", "UsageRejected", "VerificationFailed", "app", "main"]
