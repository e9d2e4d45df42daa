"""A TLS front for the plain-gRPC dev server, for the Temporal TLS, mTLS and API-key tests.

`temporal server start-dev` has no TLS flags, so `TlsProxy` terminates TLS on loopback
(optionally requiring a client certificate) and forwards the bytes to the dev server: gRPC is
HTTP/2 and passes through a byte pipe unchanged. It counts handshakes and keeps what clients
sent, and `request_headers` reads the HTTP/2 request headers back out of it (a small HPACK
decoder: there is no HTTP/2 library among the dependencies). `make_throwaway_pki` writes a
throwaway CA with a server and a client certificate.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# --- certificates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrowawayPki:
    """PEM files: a CA, a server certificate for 127.0.0.1 and localhost, a client
    certificate (both signed by the CA), and an unrelated CA that signed neither."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path

    def server_context(self, *, require_client_certificate: bool = False) -> ssl.SSLContext:
        """The proxy's side: this PKI's server certificate, ALPN h2 (gRPC refuses a TLS
        connection that did not negotiate HTTP/2) and, for mTLS, a client certificate
        signed by the CA."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        context.set_alpn_protocols(["h2"])
        if require_client_certificate:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca)
        return context


def make_throwaway_pki(directory: Path) -> ThrowawayPki:
    """Writes the PKI's files into `directory`. EC P-256 keys: quick to make, and accepted
    by the SDK's TLS stack (rustls)."""
    ca_key, other_key = _key(), _key()
    ca = _certificate("recap test CA", ca_key, "recap test CA", ca_key, is_ca=True)
    other_ca = _certificate("another CA", other_key, "another CA", other_key, is_ca=True)
    server_key, client_key = _key(), _key()
    server = _certificate(
        "127.0.0.1",
        server_key,
        "recap test CA",
        ca_key,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        names=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    client = _certificate(
        "recap worker", client_key, "recap test CA", ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    pki = ThrowawayPki(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client-key.pem",
        other_ca=directory / "other-ca.pem",
    )
    for path, certificate in (
        (pki.ca, ca),
        (pki.server_cert, server),
        (pki.client_cert, client),
        (pki.other_ca, other_ca),
    ):
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    for path, key in ((pki.server_key, server_key), (pki.client_key, client_key)):
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return pki


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    is_ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    """A certificate with the extensions a strict verifier (webpki) insists on."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


# --- the proxy ------------------------------------------------------------------------------


class TlsProxy:
    """TLS on 127.0.0.1:<free port>, forwarded as bytes to `upstream` (host:port).

    It runs its own event loop on a thread, so a test may block (a subprocess) while a
    client talks through it. `handshakes` and `failed_handshakes` count TLS handshakes,
    `alpn` the protocol each completed one agreed on.
    """

    def __init__(self, upstream: str, context: ssl.SSLContext) -> None:
        host, port = upstream.rsplit(":", 1)
        self._upstream = (host, int(port))
        self._context = context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tls-proxy", daemon=True
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent: list[bytearray] = []
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self.address = ""
        self.handshakes = 0
        self.failed_handshakes = 0
        self.alpn: list[str | None] = []

    def __enter__(self) -> TlsProxy:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0), self._loop
        )
        self._server = started.result(timeout=5)
        self.address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            try:
                await writer.start_tls(self._context, ssl_handshake_timeout=5)
            except (OSError, TimeoutError):  # ssl.SSLError is an OSError
                self.failed_handshakes += 1
                return
            self.handshakes += 1
            tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
            self.alpn.append(tls.selected_alpn_protocol())
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
            sent = bytearray()
            with self._lock:
                self._sent.append(sent)
            await asyncio.gather(
                self._pipe(reader, upstream_writer, sent),
                self._pipe(upstream_reader, writer, None),
            )
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        destination: asyncio.StreamWriter,
        sent: bytearray | None,
    ) -> None:
        try:
            while data := await source.read(65536):
                if sent is not None:
                    with self._lock:
                        sent.extend(data)
                destination.write(data)
                await destination.drain()
        except OSError:  # the other side went away: the connection is over
            pass
        finally:
            destination.close()

    def request_headers(self) -> list[dict[str, str]]:
        """The headers of every HTTP/2 request clients sent through the proxy, in order."""
        with self._lock:
            streams = [bytes(sent) for sent in self._sent]
        requests: list[dict[str, str]] = []
        for stream in streams:
            decoder = HeaderBlockDecoder()
            requests.extend(dict(decoder.decode(block)) for block in _header_blocks(stream))
        return requests


# --- reading HTTP/2 request headers (RFC 9113 frames, RFC 7541 HPACK) -----------------------

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_HEADERS, _CONTINUATION = 0x1, 0x9
_END_HEADERS, _PADDED, _PRIORITY = 0x4, 0x8, 0x20


def _header_blocks(stream: bytes) -> Iterator[bytes]:
    """The header blocks of the HEADERS (and CONTINUATION) frames a client sent; a frame
    cut off at the end of what was captured is left out."""
    if not stream.startswith(_PREFACE):
        return
    at, block = len(_PREFACE), bytearray()
    while at + 9 <= len(stream):
        length, kind, flags = int.from_bytes(stream[at : at + 3]), stream[at + 3], stream[at + 4]
        payload = stream[at + 9 : at + 9 + length]
        if len(payload) < length:
            return
        at += 9 + length
        if kind == _HEADERS:
            start, end = 0, length
            if flags & _PADDED:
                start, end = 1, length - payload[0]
            if flags & _PRIORITY:
                start += 5
            block = bytearray(payload[start:end])
        elif kind == _CONTINUATION:
            block.extend(payload)
        else:
            continue
        if flags & _END_HEADERS:
            yield bytes(block)


_STATIC_TABLE: tuple[tuple[str, str], ...] = (
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
)

# RFC 7541 Appendix B: the bit length of the Huffman code of each byte 0-255 and of EOS
# (256). The code is canonical (codes of one length are consecutive, in symbol order, each
# length continuing the shorter ones), so these lengths alone define it.
_HUFFMAN_LENGTHS: tuple[int, ...] = (
    *(13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28),
    *(28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28),
    *(6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6),
    *(5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10),
    *(13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7),
    *(7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6),
    *(15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5),
    *(6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28),
    *(20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23),
    *(24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24),
    *(22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23),
    *(21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23),
    *(26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25),
    *(19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27),
    *(20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23),
    *(26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26),
    30,
)


def _canonical_codes(lengths: tuple[int, ...]) -> dict[tuple[int, int], int]:
    """(bit length, code) → symbol."""
    codes: dict[tuple[int, int], int] = {}
    code, previous = -1, 0
    for symbol in sorted(range(len(lengths)), key=lambda symbol: (lengths[symbol], symbol)):
        code = (code + 1) << (lengths[symbol] - previous)
        previous = lengths[symbol]
        codes[(previous, code)] = symbol
    return codes


_HUFFMAN_CODES = _canonical_codes(_HUFFMAN_LENGTHS)
_EOS = 256


def _huffman_decode(data: bytes) -> bytes:
    decoded, code, length = bytearray(), 0, 0
    for byte in data:
        for shift in range(7, -1, -1):
            code, length = (code << 1) | ((byte >> shift) & 1), length + 1
            symbol = _HUFFMAN_CODES.get((length, code))
            if symbol is not None:
                if symbol == _EOS:
                    raise ValueError("EOS inside a Huffman-coded string")
                decoded.append(symbol)
                code, length = 0, 0
    # What is left is padding: at most 7 bits, all ones (the start of EOS).
    if length > 7 or code != (1 << length) - 1:
        raise ValueError("bad padding in a Huffman-coded string")
    return bytes(decoded)


def _integer(data: bytes, at: int, prefix_bits: int) -> tuple[int, int]:
    """The integer at `at` with its `prefix_bits`-bit prefix, and where the next field starts."""
    limit = (1 << prefix_bits) - 1
    value, at = data[at] & limit, at + 1
    if value < limit:
        return value, at
    shift = 0
    while True:
        byte, at = data[at], at + 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _string(data: bytes, at: int) -> tuple[str, int]:
    huffman = bool(data[at] & 0x80)
    length, at = _integer(data, at, 7)
    raw = data[at : at + length]
    return (_huffman_decode(raw) if huffman else raw).decode("latin-1"), at + length


class HeaderBlockDecoder:
    """HPACK for one direction of one connection: its dynamic table lives across blocks."""

    def __init__(self) -> None:
        self._dynamic: list[tuple[str, str]] = []
        self._max_size = 4096

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        at = 0
        while at < len(block):
            first = block[at]
            if first & 0x80:  # indexed field
                index, at = _integer(block, at, 7)
                headers.append(self._entry(index))
            elif first & 0x40:  # literal, added to the dynamic table
                index, at = _integer(block, at, 6)
                name, at = (self._entry(index)[0], at) if index else _string(block, at)
                value, at = _string(block, at)
                headers.append((name, value))
                self._dynamic.insert(0, (name, value))
                self._evict()
            elif first & 0x20:  # dynamic table size update
                self._max_size, at = _integer(block, at, 5)
                self._evict()
            else:  # literal without indexing (0000) or never indexed (0001)
                index, at = _integer(block, at, 4)
                name, at = (self._entry(index)[0], at) if index else _string(block, at)
                value, at = _string(block, at)
                headers.append((name, value))
        return headers

    def _entry(self, index: int) -> tuple[str, str]:
        if index <= len(_STATIC_TABLE):
            return _STATIC_TABLE[index - 1]
        return self._dynamic[index - len(_STATIC_TABLE) - 1]

    def _evict(self) -> None:
        def size() -> int:
            return sum(32 + len(name) + len(value) for name, value in self._dynamic)

        while self._dynamic and size() > self._max_size:
            self._dynamic.pop()
