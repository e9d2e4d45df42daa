"""A stand-in for llama-server that dies the way the real one does on some AMX CPUs.

Run as a program with llama-server's arguments. Unless it is given `--no-repack`, it kills
itself with SIGILL, as llama-server does in ggml's AMX matmul: at model load
(`STANDIN_CRASH=load`, the default) or on the first completion (`completion`); `always`
dies even with the flag, `never` never does. Otherwise it serves `/health`, `/v1/models`
and `/v1/chat/completions` on `--port`. Each launch appends its arguments as one JSON line
to `STANDIN_LAUNCHES`, when that is set.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ARGS = sys.argv[1:]
MODE = os.environ.get("STANDIN_CRASH", "load")
SAFE = "--no-repack" in ARGS


def _die() -> None:
    # Signal this thread, not the process: with os.kill the handler thread could still send
    # its 200 before the signal is delivered, and the crash would look like an answer.
    signal.pthread_kill(threading.get_ident(), signal.SIGILL)


def _option(name: str, default: str) -> str:
    return ARGS[ARGS.index(name) + 1] if name in ARGS else default


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write("standin: " + (format % args) + "\n")

    def _json(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": _option("--alias", "m")}]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if MODE == "completion" and not SAFE:
            _die()
        message = {"role": "assistant", "content": "ok"}
        self._json(
            200,
            {
                "id": "standin",
                "object": "chat.completion",
                "created": 0,
                "model": _option("--alias", "m"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            },
        )


def main() -> None:
    launches = os.environ.get("STANDIN_LAUNCHES")
    if launches:
        with open(launches, "a", encoding="utf-8") as log:
            log.write(json.dumps(ARGS) + "\n")
    sys.stderr.write("standin: loading model\n")
    sys.stderr.flush()
    if MODE == "always" or (MODE == "load" and not SAFE):
        _die()
    server = ThreadingHTTPServer(("127.0.0.1", int(_option("--port", "8080"))), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
