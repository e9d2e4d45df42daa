"""What every `recap` command module shares: the consoles, how a command fails or ends,
and running one coroutine."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

T = TypeVar("T")


def exit_now(code: int) -> None:
    # temporalio can abort at interpreter exit (sdk-python#300): flush, then leave at once.
    from recap.tracing import flush_tracing

    flush_tracing()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def fail(message: str, code: int = 1) -> None:
    """Fail a command that may have started temporalio: print, then leave at once."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    exit_now(code)


def reject(message: str, code: int = 1) -> None:
    """Fail a command that never started temporalio: a normal exit, safe in-process."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]
