"""The `recap` command line. `commands.py` is the command table, which imports a command's
module only when that command runs; each command group lives in a module named for it
(`timeline`, `sessions`, `batch`, `clusters`, `schedule`, `keys`, `doctor`, `serve`, with
`demo`'s body in `demo.py`); what they share is in `console.py` (the consoles, failing,
ending, running a coroutine), `options.py` (shared options, session ids, `--source`) and
`progress.py` (the live progress bar), and how outcomes are printed in `report.py`.

A face: may import everything below it (jobs, services, domain, base); nothing imports it.
"""

from __future__ import annotations

import sys


def main() -> None:
    """The `recap` command. Plain `recap timeline` arguments run the compile directly
    (`recap.cli.compile_file`); everything else goes through the command table."""
    from recap.cli.compile_file import plain_timeline_arguments, print_timeline

    arguments = plain_timeline_arguments(sys.argv[1:])
    if arguments is None:
        from recap.cli.commands import main as run_command_table

        run_command_table()
        return
    from recap.recording.models import RecordingError

    try:
        print_timeline(arguments)
    except RecordingError as error:
        from recap.cli.console import print_error

        print_error(str(error))
        raise SystemExit(1) from None


__all__ = ["main"]
