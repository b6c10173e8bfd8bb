"""The small HTTP/1.1 clients of `make bench` that wrk cannot be:

- `check()`: one request, its status and body (is the target answering what it should before it is measured?);
- `stream_ttfb()`: sequential streaming requests on one keep-alive connection, timing the first byte of each
  response and the first `data:` event;
- `hold()`: N connections at once, each sending one request and then staying open, either idle after a complete
  answer (keep-alive) or in the middle of a stream, while the caller reads the target's RSS.
"""
import asyncio
import socket
import time


def build_request(port: int, path: str, headers: list[str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _parse_head(head: bytes) -> tuple[int, dict]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


def _dechunk(raw: bytes):
    """(body, bytes used) of a complete chunked body at the start of `raw`, or None while it is incomplete."""
    body, pos = bytearray(), 0
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(raw[pos:eol].split(b";")[0], 16)
        if len(raw) < eol + 2 + size + 2:
            return None
        body += raw[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2
        if size == 0:
            return bytes(body), pos


class _SyncResponseReader:
    """Reads HTTP/1.1 responses from a blocking socket, noting when the first byte and the first `data:` came."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""
        self.t_recv = 0.0

    def _recv(self) -> bool:
        data = self.sock.recv(65536)
        self.t_recv = time.perf_counter()
        if not data:
            return False
        self.buf += data
        return True

    def read(self) -> dict:
        t_first = t_event = None
        if self.buf:
            t_first = time.perf_counter()
        while b"\r\n\r\n" not in self.buf:
            if not self._recv():
                raise ConnectionError("connection closed before the response head")
            if t_first is None:
                t_first = self.t_recv
        end = self.buf.index(b"\r\n\r\n")
        status, headers = _parse_head(self.buf[:end])
        raw = self.buf[end + 4:]  # the body as it came (chunk framing never holds "data:")
        t_event = self.t_recv if b"data:" in raw else None
        length = int(headers["content-length"]) if "content-length" in headers else None
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        while True:
            if length is not None and len(raw) >= length:
                body, rest = raw[:length], raw[length:]
                break
            if chunked:
                done = _dechunk(raw)
                if done is not None:
                    body, rest = done[0], raw[done[1]:]
                    break
            self.buf = b""
            if not self._recv():
                if length is None and not chunked:  # a body delimited by the end of the connection
                    body, rest = raw, b""
                    headers["connection"] = "close"
                    break
                raise ConnectionError("connection closed inside the body")
            raw += self.buf
            if t_event is None and b"data:" in raw:
                t_event = self.t_recv
        self.buf = rest
        return {"status": status, "headers": headers, "body": body, "t_first": t_first, "t_event": t_event}


def check(port: int, path: str, headers: list[str], body: bytes, timeout=10.0) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(build_request(port, path, headers + ["Connection: close"], body))
        r = _SyncResponseReader(s).read()
        return r["status"], r["body"]


def stream_ttfb(port: int, path: str, headers: list[str], body: bytes, n: int, warmup: int = 20,
                max_seconds: float = 2.0, min_samples: int = 30, timeout=10.0) -> dict:
    """`n` streaming requests one after another on a keep-alive connection (reconnecting if the target closes
    it), after at most `warmup` unmeasured ones (and at most a quarter of `max_seconds` of them); fewer than `n` if
    they take more than `max_seconds`, but at least `min_samples`. Per request, seconds from the send to the first
    response byte and to the first `data:` event."""
    req = build_request(port, path, headers, body)
    first, event, total = [], [], []
    state = {"sock": None, "reader": None, "bad": 0}

    def one():
        """One request: (first byte, first event, whole response) in seconds, or None when it failed."""
        if state["sock"] is None:
            state["sock"] = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            state["sock"].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            state["reader"] = _SyncResponseReader(state["sock"])
        t0 = time.perf_counter()
        state["sock"].sendall(req)
        r = state["reader"].read()
        t_end = time.perf_counter()
        if r["headers"].get("connection", "").lower() == "close":
            state["sock"].close()
            state["sock"] = None
        if r["status"] != 200 or r["t_event"] is None or b"[DONE]" not in r["body"]:
            state["bad"] += 1
            return None
        return r["t_first"] - t0, r["t_event"] - t0, t_end - t0

    try:
        warm_until = time.monotonic() + max_seconds / 4
        for _ in range(warmup):
            if time.monotonic() > warm_until:
                break
            one()
        deadline = time.monotonic() + max_seconds
        for i in range(n):
            if i >= min_samples and time.monotonic() > deadline:
                break
            times = one()
            if times:
                first.append(times[0])
                event.append(times[1])
                total.append(times[2])
    finally:
        if state["sock"] is not None:
            state["sock"].close()
    return {"first_byte_s": first, "first_event_s": event, "total_s": total, "failed": state["bad"]}


async def _read_response_async(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers = _parse_head(head[:-4])
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _until_event(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status, _ = _parse_head(head[:-4])
    seen = b""
    while b"data:" not in seen:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("stream ended before its first event")
        seen = seen[-8:] + data
    return status


async def _drain(reader: asyncio.StreamReader):
    while await reader.read(65536):
        pass


async def hold(port: int, path: str, headers: list[str], body: bytes, n: int, mode: str, sample,
               parallel: int = 50, settle_s: float = 1.0, timeout_s: float = 60.0) -> dict:
    """Opens `n` connections (`parallel` being set up at a time), each sending one request; mode "idle" reads the
    whole answer and leaves the connection open, mode "stream" reads up to the first SSE event and then keeps
    reading as the stream goes on. Once all are held, waits `settle_s`, calls `sample()` (the caller reads RSS),
    counts the connections still open, then closes them all.

    The gate bounds connections being opened and requests being sent (and, for idle ones, answered), not the wait
    for a stream's first event: on the slow upstream path that wait is a second or more behind a gateway, and
    waiting for it `parallel` streams at a time would take n / parallel seconds."""
    req = build_request(port, path, headers, body)
    gate = asyncio.Semaphore(parallel)
    conns, drains, failures = [], [], 0

    async def one():
        nonlocal failures
        async with gate:
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
            except OSError:
                failures += 1
                return
            conns.append((r, w))
            try:
                w.write(req)
                await w.drain()
                if mode == "idle" and await _read_response_async(r) != 200:
                    failures += 1
            except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
                failures += 1
                return
        if mode != "stream":
            return
        try:
            if await _until_event(r) != 200:
                failures += 1
            drains.append(asyncio.ensure_future(_drain(r)))
        except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            failures += 1

    t0 = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), timeout_s)
        setup_s = time.monotonic() - t0
        await asyncio.sleep(settle_s)
        samples = sample()
        still_open = sum(1 for r, _ in conns if not r.at_eof())
        if mode == "stream":
            still_open = sum(1 for d in drains if not d.done())
    except asyncio.TimeoutError:
        setup_s, samples, still_open = None, sample(), 0
        failures = n
    finally:
        for d in drains:
            d.cancel()
        for _, w in conns:
            w.close()
        await asyncio.gather(*drains, return_exceptions=True)
    return {"connections": n, "failed": failures, "still_open": still_open, "setup_s": setup_s,
            "sample": samples}
