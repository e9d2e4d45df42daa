"""recap's settings: one pydantic-settings class, read from the environment and `.env`.

Nothing else in recap reads `os.environ`; credentials live here as `SecretStr` so they
never print by accident.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recap.core.timeline_config import TimelineConfig

OPENAI_BASE_URL = "https://api.openai.com/v1"

__all__ = ["OPENAI_BASE_URL", "Settings", "TimelineConfig", "get_settings"]


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "recap"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RECAP_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=_default_data_dir)

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    # A secured cluster or Temporal Cloud: TLS (implied by a CA or client certificate),
    # mTLS with a client certificate and key, and/or an API key sent as a bearer token.
    temporal_tls: bool = False
    temporal_tls_server_ca_path: Path | None = None
    temporal_tls_cert_path: Path | None = None
    temporal_tls_key_path: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None
    task_queue: str = "recap"

    database_url: str | None = None

    llm_base_url: str | None = None
    llm_model: str = "gemma-3-270m"
    llm_api_key: SecretStr | None = None
    # Unset: 120 s, or 240 s for the embedded CPU model, which is slow on small machines.
    llm_timeout_seconds: float | None = None
    llm_max_output_tokens: int = 4096
    llm_temperature: float = 0.2
    # maxLength/maxItems in the response schema: on for grammar-enforcing local servers
    # (llama.cpp, vLLM), off for OpenAI's strict mode, which rejects them. Unset means on
    # only for the embedded model server.
    llm_schema_limits: bool | None = None

    source: str = "files:./recordings"
    # What else a workflow's input may name as its source (comma-separated `posthog` or
    # `files:DIR`, subfolders included). The worker reads nothing outside it and RECAP_SOURCE.
    allowed_sources: str = ""
    # Teams (comma-separated, `*` for all) that read RECAP_SOURCE when the store holds no
    # source of their own (`recap teams set-source`); None: RECAP_TEAM_ID only. Any other
    # team without a source is refused, so one team's key never reads another's project.
    source_teams: str | None = None
    # The Fernet key (base64, 32 bytes) team secrets are encrypted with at rest; without it
    # recap refuses to store or read a team's PostHog key. `recap teams key` makes one.
    secret_key: SecretStr | None = None
    posthog_host: str = "https://us.posthog.com"
    posthog_project_id: str | None = None
    posthog_api_key: SecretStr | None = None
    # Blocks per snapshot request (PostHog allows at most 20 per call for API keys).
    posthog_blocks_per_request: int = Field(default=10, ge=1, le=20)
    posthog_timeout_seconds: float = Field(default=60.0, gt=0)
    posthog_page_size: int = Field(default=100, ge=1, le=1000)

    # Calls made outside Temporal (`recap fetch`, the quality benchmark) try this many
    # times on 429, 5xx and cut answers, waiting as Retry-After asks or backing off.
    retry_attempts: int = Field(default=5, ge=1, le=20)

    team_id: str = "default"
    # What the product is and who uses it, shown to the model as data (never instructions).
    product_context: str | None = None
    timeline_max_tokens: int = 6000
    # The most a pattern-report prompt (map, reduce, assign) may take; sessions are split
    # into chunks, and candidates reduced in rounds, to stay within it.
    report_chunk_tokens: int = Field(default=6000, ge=1000)
    # Compiler thresholds, e.g. RECAP_TIMELINE__DEAD_CLICK_MS=3000.
    timeline: TimelineConfig = Field(default_factory=TimelineConfig)

    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The API waits at most this long for a batch or a single summary.
    api_wait_timeout_seconds: float = Field(default=300.0, gt=0, le=3600)
    api_max_body_bytes: int = Field(default=128 * 1024, ge=1024)
    # Where callers reach the API (behind a proxy): pagination links start with it instead
    # of the request's Host header, which a caller controls.
    api_public_url: str | None = None
    # Per key, as PostHog limits its API: a burst allowance and a sustained one.
    api_rate_burst_per_minute: int = Field(default=480, ge=1)
    api_rate_sustained_per_hour: int = Field(default=4800, ge=1)
    # Failed authentications per client address; past them the address gets 429, keys unread.
    api_auth_failures_per_minute: int = Field(default=10, ge=1)
    api_auth_failures_per_hour: int = Field(default=100, ge=1)
    # The recording listing reads at most this many recordings from the source, in at most
    # this many source calls, and keeps a team's listing this long (0: no cache).
    api_list_scan_limit: int = Field(default=10_000, ge=1)
    api_list_max_source_calls: int = Field(default=20, ge=1, le=1000)
    api_list_cache_seconds: float = Field(default=30.0, ge=0)

    # Each team's model spend per UTC day (None: unlimited). Past either, the model activity
    # fails as non-retryable budget_exceeded until the day turns.
    team_daily_model_tokens: int | None = Field(default=None, ge=1)
    team_daily_model_calls: int | None = Field(default=None, ge=1)

    # Prometheus: the worker serves recap's metrics on metrics_port and the Temporal SDK's
    # on temporal_metrics_port (None: off); the API serves /metrics on its own port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    temporal_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    api_metrics: bool = True
    # The OpenAPI UI (/docs, /redoc) on the API's port; /openapi.json stays for clients.
    api_docs: bool = True
    # OpenTelemetry tracing through temporalio.contrib.opentelemetry: off unless enabled;
    # spans go to an OTLP/HTTP endpoint such as http://otel-collector:4318/v1/traces.
    otel_enabled: bool = False
    otel_endpoint: str | None = None
    otel_service_name: str = "recap"

    # The embedded stack (`recap dev` / `recap demo`).
    temporal_ui_port: int = 8233
    llm_server_port: int = 8081
    llm_server_threads: int = 2
    llm_server_ctx_size: int = 8192
    # Extra flags for the embedded llama-server, shell-quoted, e.g. "--no-repack --mlock".
    llm_server_args: str = ""
    # Another llama-server binary or GGUF model than the embedded packages' (optional).
    llm_server_binary: Path | None = None
    llm_server_model: Path | None = None

    # Batches
    # The model call runs on its own task queue so a worker-level rate and concurrency
    # limit protects the model server however many batches run at once.
    llm_task_queue: str = "recap-llm"
    llm_max_concurrent_activities: int = Field(default=4, ge=1)
    llm_max_activities_per_second: float | None = Field(default=None, gt=0)
    batch_max_concurrency: int = Field(default=10, ge=1, le=1000)

    @field_validator("api_public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        scheme, _, rest = value.partition("://")
        if scheme not in ("http", "https") or not rest or any(c in rest for c in "?#@ "):
            raise ValueError(
                "RECAP_API_PUBLIC_URL must be an http(s) URL such as https://recap.example.com"
            )
        return value

    @field_validator("source")
    @classmethod
    def _check_source(cls, value: str) -> str:
        if value != "posthog" and not value.startswith("files:"):
            raise ValueError("RECAP_SOURCE must be 'posthog' or 'files:DIR'")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'recap.db'}"

    @property
    def uses_embedded_model(self) -> bool:
        """No endpoint and no key configured: the llama-server `recap dev` starts."""
        return self.llm_base_url is None and self.llm_api_key is None

    @property
    def effective_llm_base_url(self) -> str:
        """The configured endpoint; OpenAI's when only a key is set; else the embedded one."""
        if self.llm_base_url:
            return self.llm_base_url
        if self.llm_api_key is not None:
            return OPENAI_BASE_URL
        return f"http://127.0.0.1:{self.llm_server_port}/v1"

    @property
    def effective_llm_timeout_seconds(self) -> float:
        if self.llm_timeout_seconds is not None:
            return self.llm_timeout_seconds
        return 240.0 if self.uses_embedded_model else 120.0

    @property
    def effective_llm_schema_limits(self) -> bool:
        if self.llm_schema_limits is not None:
            return self.llm_schema_limits
        return self.uses_embedded_model

    @property
    def temporal_ui_url(self) -> str:
        host = self.temporal_address.rsplit(":", 1)[0] or "localhost"
        return f"http://{host}:{self.temporal_ui_port}"

    def temporal_workflow_url(self, workflow_id: str) -> str:
        """A workflow's page in the Temporal UI."""
        namespace, workflow = quote(self.temporal_namespace, safe=""), quote(workflow_id, safe="")
        return f"{self.temporal_ui_url}/namespaces/{namespace}/workflows/{workflow}"

    @property
    def tiktoken_cache_dir(self) -> Path:
        return self.data_dir / "tiktoken"


@cache
def get_settings() -> Settings:
    return Settings()
