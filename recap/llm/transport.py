"""The model client's HTTP transport: answers are decoded here, bounded, instead of by httpx.

httpx inflates a gzip or deflate body whole, so a model server (or anything in between) could
answer a few KB that expand to gigabytes. A model's answer is a few KB of JSON; past
`MODEL_ANSWER_BYTES` reading stops with `ModelAnswerTooLarge`, before the memory is spent.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Final

import httpx2

from recap.recording.decode import GZIP_OR_ZLIB_WBITS, BoundedInflater, DecodedTooLarge

MODEL_ANSWER_BYTES: Final = 16 * 1024 * 1024
_DROPPED_HEADERS: Final = frozenset({b"content-encoding", b"content-length"})


class ModelAnswerTooLarge(httpx2.DecodingError):
    """The answer decodes to more than the bound (a decoding error to httpx and the SDK)."""


class _BoundedAnswer(httpx2.AsyncByteStream):
    def __init__(self, raw: httpx2.AsyncByteStream, encoding: str, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._inflater = (
            BoundedInflater(limit, wbits=GZIP_OR_ZLIB_WBITS, what="the model's answer")
            if encoding
            else None
        )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        produced = 0
        async for chunk in self._raw:
            if self._inflater is None:
                produced += len(chunk)
                if produced > self._limit:
                    raise ModelAnswerTooLarge(
                        f"the model's answer decodes to more than"
                        f" {self._limit // (1024 * 1024)} MiB"
                    )
                yield chunk
                continue
            try:
                for piece in self._inflater.feed(chunk):
                    yield piece
            except DecodedTooLarge as error:
                raise ModelAnswerTooLarge(str(error)) from None
            except zlib.error as error:
                message = f"the model's answer is not valid gzip: {error}"
                raise httpx2.DecodingError(message) from None

    async def aclose(self) -> None:
        await self._raw.aclose()


class BoundedTransport(httpx2.AsyncBaseTransport):
    """Wraps a transport so every answer's content is decoded by `_BoundedAnswer`."""

    def __init__(
        self, inner: httpx2.AsyncBaseTransport | None = None, limit: int = MODEL_ANSWER_BYTES
    ) -> None:
        self._inner = inner or httpx2.AsyncHTTPTransport()
        self._limit = limit

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        # Only what this transport can decode, bounded: never br or zstd.
        request.headers["Accept-Encoding"] = "gzip, deflate"
        response = await self._inner.handle_async_request(request)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("identity",):
            encoding = ""
        if encoding not in ("", "gzip", "x-gzip", "deflate"):
            await response.aclose()
            raise httpx2.DecodingError(f"the model server answered in the {encoding!r} encoding")
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _DROPPED_HEADERS]
        return httpx2.Response(
            response.status_code,
            headers=headers,
            stream=_BoundedAnswer(response.stream, encoding, self._limit),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
