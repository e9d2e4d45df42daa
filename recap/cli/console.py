"""The two consoles every `recap` command prints to (results on stdout, progress and errors
on stderr), how a command fails or ends, and how it runs one coroutine."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from recap.store.repository import SummaryStore

out = Console()
err = Console(stderr=True)

T = TypeVar("T")


def exit_now(code: int) -> NoReturn:
    # temporalio can abort at interpreter exit (sdk-python#300): flush, then leave at once.
    from recap.core.tracing import flush_tracing

    flush_tracing()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def print_error(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Fail a command that may have started temporalio: print, then leave at once."""
    print_error(message)
    exit_now(code)


def reject(message: str, code: int = 1) -> NoReturn:
    """Fail a command that never started temporalio: a normal exit, safe in-process."""
    print_error(message)
    raise typer.Exit(code)


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


def audited_store() -> SummaryStore:
    """The deployment's store for a command that changes who may do what (keys, people):
    its audit lines go to stderr, never into --json output."""
    from recap.core.config import get_settings
    from recap.core.logging import configure_logging
    from recap.services.bootstrap import summary_store

    settings = get_settings()
    configure_logging(settings)
    return summary_store(settings)
