"""The `recap` command line, one module per command group; the shared consoles, options and
progress bar live in `support.py`, how outcomes are printed in `report.py`.

A face: may import everything below it (jobs, services, domain, base); nothing imports it.
"""

from recap.cli.main import main

__all__ = ["main"]
