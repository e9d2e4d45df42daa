"""A loopback stand-in for an OpenAI-compatible model server, for tests.

It speaks the documented chat-completions protocol over real HTTP (so the `openai` SDK,
its transport and recap's client run for real) and answers from a script of replies;
with the script used up it answers a default completion. It records every request.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


def completion_body(content: str = '{"title": "ok"}', *, usage: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "served-model",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    return body


def error_body(message: str, *, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": None}}


SCHEMA_UNSUPPORTED = error_body(
    "response_format of type 'json_schema' is not supported by this model; "
    "use 'json_object' or 'text'"
)


class ChatServer(ThreadingHTTPServer):
    """Speaks just enough of /v1/chat/completions, answering from a script."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ChatHandler)
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # ends slow replies at teardown
        # Answers requests the script does not cover; None: a default completion.
        self.responder: Callable[[dict[str, Any]], Reply] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def bodies(self) -> list[dict[str, Any]]:
        return [request["body"] for request in self.requests]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gives up (or a worker that is killed) resets the connection


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ChatServer

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.requests.append(
            {
                "path": self.path,
                "headers": {key.lower(): value for key, value in self.headers.items()},
                "body": json.loads(raw),
            }
        )
        if self.server.replies:
            reply = self.server.replies.popleft()
        elif self.server.responder is not None:
            reply = self.server.responder(self.server.requests[-1]["body"])
        else:
            reply = Reply()
        if reply.drop:
            self.close_connection = True
            return
        if reply.delay:
            self.server.release.wait(reply.delay)
        body = reply.body if reply.body is not None else completion_body()
        if isinstance(body, bytes):  # sent as given, e.g. with its own Content-Encoding
            payload = body
        else:
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client gave up waiting

    def log_message(self, format: str, *args: Any) -> None:
        pass


def reply_with(content: str) -> Reply:
    """A 200 completion whose message is `content`."""
    return Reply(body=completion_body(content))


# Refs at the start of a timeline line only: a session id such as 019a…-e520-… is no ref.
_REF = re.compile(r"^e(\d+) ", re.MULTILINE)


def grounded_reply(body: dict[str, Any]) -> Reply:
    """A schema-valid summary that cites the first two refs of the timeline in the prompt,
    the way a model that reads its input would: the gate keeps it. Cluster-naming requests
    get a name."""
    prompt = "\n".join(
        str(message.get("content", ""))
        for message in body.get("messages", [])
        if message.get("role") == "user"
    )
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
    if "impact" in schema.get("properties", {}):  # an error cluster's name
        name = {"title": "Requests fail", "impact": "Users cannot finish.", "severity": "high"}
        return Reply(body=completion_body(json.dumps(name)))
    refs = list(dict.fromkeys(f"e{number}" for number in _REF.findall(prompt)))[:2]
    answer = {
        "title": "The user browsed the site",
        "segments": [],
        "key_actions": [
            {"ref": ref, "description": "Acted on the page", "flags": []} for ref in refs
        ],
        "issues": [],
        "summary_outcome": {"description": "The user browsed the pages.", "success": True},
    }
    return Reply(body=completion_body(json.dumps(answer)))


@contextmanager
def chat_server(*replies: Reply) -> Iterator[ChatServer]:
    """Serve `replies` on 127.0.0.1 (a free port); `base_url` ends in /v1."""
    chat = ChatServer()
    chat.script(*replies)
    thread = threading.Thread(target=chat.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield chat
    finally:
        chat.release.set()
        chat.shutdown()
        chat.server_close()
        thread.join(timeout=5)


def serve_models(chat: ChatServer, *models: str, status: int = 200, body: Any = None) -> None:
    """Make `chat` answer `GET /v1/models` too, as OpenAI documents it (`{"object": "list",
    "data": [{"id", "object": "model", ...}]}`), or with `status` and `body` instead.
    Without this the double answers GET with 501, like a server that has no listing."""

    class _ListingHandler(_ChatHandler):
        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                answer: Any = error_body("not found")
                code = 404
            elif status != 200:
                answer, code = (body if body is not None else error_body("refused")), status
            else:
                data = [
                    {"id": name, "object": "model", "created": 0, "owned_by": "double"}
                    for name in models
                ]
                answer, code = {"object": "list", "data": data}, 200
            payload = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    chat.RequestHandlerClass = _ListingHandler
