"""The webhook bench's load and its processes: a minimal keep-alive HTTP/1.1 client, the
closed-loop (saturation) and open-loop (steady) senders, the web server and the worker
started as `scripts/serve` starts them, and the CPU they and other processes use."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from webhooks_setup import CONNECTIONS, REQUEST_TIMEOUT, ROOT, Bodies, signed_request

# A minimal HTTP/1.1 keep-alive client (asyncio protocol, one request at a time per connection) ---


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is not a subclass)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            self._fail(ConnectionError("response without Content-Length"))
            return
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if b"\r\nconnection: close" in head:
            self.closed = True
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((int(head[9:12]), body))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection lost: {exc}"))

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(port: int) -> Connection:
    _t, protocol = await asyncio.get_running_loop().create_connection(Connection, "127.0.0.1", port)
    return protocol


# Load ------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """What one run sent and what came back, per delivery id."""

    label: str
    statuses: Counter[int] = field(default_factory=Counter)
    acked: dict[str, int] = field(default_factory=dict)  # delivery id → HTTP status (2xx)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0
    late: float = 0.0  # steady runs: the most the sender itself was behind schedule
    codes: list[int | None] = field(default_factory=list)  # steady runs: status of request i
    server_cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # web (or worker), PostgreSQL, Redis: seconds

    def per_delivery_ms(self, which: int) -> float:
        return self.server_cpu[which] / len(self.latencies) * 1000 if self.latencies else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


class Load:
    def __init__(self, port: int, bodies: Bodies) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.bodies = bodies
        self.next_job = int(time.time() * 1000) % 10**9 * 1000  # distinct job ids for this run

    def job_id(self) -> int:
        self.next_job += 1
        return self.next_job

    async def _send(
        self, conn: Connection, data: bytes, delivery: str, due: float, sent: Sent
    ) -> tuple[Connection, int]:
        try:
            status, _body = await asyncio.wait_for(conn.request(data), REQUEST_TIMEOUT)
        except ConnectionError:
            status = 0
        except TimeoutError:
            status = -1
        sent.latencies.append(time.perf_counter() - due)
        sent.statuses[status] += 1
        if 200 <= status < 300:
            sent.acked[delivery] = status
        if status <= 0 or conn.closed:
            conn.close()
            conn = await connect(self.port)
        return conn, status

    async def saturate(self, label: str, path: str, seconds: float) -> Sent:
        """CONNECTIONS closed-loop senders, each a new signed delivery after the last answer."""
        sent = Sent(label)
        conns = [await connect(self.port) for _ in range(CONNECTIONS)]
        cpu = time.process_time()
        start = time.perf_counter()
        deadline = start + seconds

        async def sender(conn: Connection) -> Connection:
            while time.perf_counter() < deadline:
                delivery = str(uuid.uuid4())
                data = signed_request(path, self.host, self.bodies.body(self.job_id()), delivery)
                conn, _status = await self._send(conn, data, delivery, time.perf_counter(), sent)
            return conn

        conns = list(await asyncio.gather(*(sender(c) for c in conns)))
        sent.elapsed = time.perf_counter() - start
        sent.cpu = time.process_time() - cpu
        for c in conns:
            c.close()
        return sent

    async def steady(self, label: str, requests: list[tuple[str, bytes]], rate: float) -> Sent:
        """Open loop: request i is due at t0 + i/rate, on an idle connection (a new one when
        all are busy); its latency counts from when it was due. sent.codes[i]: its status."""
        sent = Sent(label)
        sent.codes = [None] * len(requests)
        idle: deque[Connection] = deque([await connect(self.port) for _ in range(16)])
        tasks: list[asyncio.Task[None]] = []

        async def one(i: int, conn: Connection, data: bytes, delivery: str, due: float) -> None:
            conn, sent.codes[i] = await self._send(conn, data, delivery, due, sent)
            idle.append(conn)

        cpu = time.process_time()
        start = time.perf_counter() + 0.05
        for i, (delivery, data) in enumerate(requests):
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            sent.late = max(sent.late, time.perf_counter() - due)
            conn = idle.popleft() if idle else await connect(self.port)
            tasks.append(asyncio.create_task(one(i, conn, data, delivery, due)))
        await asyncio.gather(*tasks)
        sent.elapsed = time.perf_counter() - start
        sent.cpu = time.process_time() - cpu
        for c in idle:
            c.close()
        return sent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else 0.0


# Processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(role: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """`scripts/serve web|worker` in a session of its own (so that stopping it stops its children)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(ROOT / "scripts/serve"), role],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the web server exited ({process.returncode}); see bench/results/webhooks-web.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/empty/", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    sys.exit("the web server did not answer within a minute")


class Neighbours(threading.Thread):
    """CPU seconds used, while the bench runs, by processes outside its own tree (PostgreSQL
    and Redis excepted): a test suite running alongside shows up here. Sampled every second
    from /proc, so processes living less than a second are missed."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.used: Counter[str] = Counter()
        self.done = threading.Event()

    @staticmethod
    def scan() -> dict[int, tuple[str, int, int]]:
        procs = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            close = stat.rfind(")")
            fields = stat[close + 2 :].split()
            procs[int(entry)] = (
                stat[stat.find("(") + 1 : close],
                int(fields[1]),
                int(fields[11]) + int(fields[12]),
            )
        return procs

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        me = os.getpid()
        before = self.scan()
        while not self.done.wait(1.0):
            now = self.scan()

            def ours(pid: int, now: dict[int, tuple[str, int, int]] = now) -> bool:
                for _ in range(64):
                    if pid == me:
                        return True
                    if pid <= 1 or pid not in now:
                        return False
                    pid = now[pid][1]
                return False

            for pid, (name, _ppid, cpu) in now.items():
                if pid in before and name not in ("postgres", "redis-server") and not ours(pid):
                    self.used[name] += (cpu - before[pid][2]) / tick
            before = now

    def report(self) -> str:
        self.done.set()
        self.join()
        busy = {name: round(sec, 1) for name, sec in self.used.most_common() if sec >= 1.0}
        total = sum(self.used.values())
        verdict = "quiet" if total < 5 else "NOT quiet: the numbers above are disturbed"
        return f"other processes' CPU during the run: {total:.1f} s {busy or ''} ({verdict})"


def cpu_split(root: int) -> tuple[float, float, float]:
    """CPU seconds used so far by the process tree under `root`, by PostgreSQL and by Redis."""
    procs = Neighbours.scan()
    children: dict[int, list[int]] = {}
    for pid, (_name, ppid, _cpu) in procs.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = 0, [root]
    while todo:
        pid = todo.pop()
        tree += procs[pid][2] if pid in procs else 0
        todo.extend(children.get(pid, []))
    postgres = sum(cpu for name, _ppid, cpu in procs.values() if name == "postgres")
    redis = sum(cpu for name, _ppid, cpu in procs.values() if name == "redis-server")
    tick = os.sysconf("SC_CLK_TCK")
    return tree / tick, postgres / tick, redis / tick
