"""The `recap` command line. `main.py` is the command table, which imports a command's
module only when that command runs; each command group lives in a module named for it
(`timeline`, `sessions`, `batch`, `clusters`, `schedule`, `keys`, `doctor`, `serve`, with
`demo`'s body in `demo.py`); what they share is in `console.py` (the consoles, failing,
ending, running a coroutine), `options.py` (shared options, session ids, `--source`) and
`progress.py` (the live progress bar), and how outcomes are printed in `report.py`.

A face: may import everything below it (jobs, services, domain, base); nothing imports it.
"""

from recap.cli.main import main

__all__ = ["main"]
