"""The embedded stack for `recap dev` and `recap demo`: the Temporal dev server and, when
no model endpoint is configured, the local model server, started in that order and stopped
in reverse."""

from __future__ import annotations

from dataclasses import dataclass, field

from recap.core.config import Settings
from recap.embedded.model_server import start_llama_server
from recap.embedded.processes import ManagedProcess
from recap.embedded.temporal import start_temporal


@dataclass
class EmbeddedStack:
    """The child processes of `recap dev` / `recap demo`, stopped in reverse order."""

    settings: Settings
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def runs_model_server(self) -> bool:
        return self.settings.uses_embedded_model

    async def start(self) -> None:
        state_dir = self.settings.data_dir / "dev"
        try:
            self.processes.append(await start_temporal(self.settings, state_dir))
            if self.runs_model_server:
                self.processes.append(await start_llama_server(self.settings, state_dir))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        while self.processes:
            self.processes.pop().stop()
