"""Egress for setup containers: an HTTP CONNECT proxy that opens port 443 of allowlisted hosts only.

Setup containers run with no network at all (network_mode none). The proxy listens on a Unix socket
whose directory is bind-mounted into them; `egress_relay.py` inside turns it into 127.0.0.1:3128 for
pip. A TCP listener on a bridge network's gateway would instead expose to setup code every host
service bound to 0.0.0.0 (the App server, a Redis on all interfaces), since the gateway address is
the host's own; a socket file exposes this proxy and nothing else.

Our own ~100 lines rather than a library: proxy.py and mitmproxy are whole proxy frameworks (worker
processes, plugins, TLS interception). All that is needed is to read one CONNECT line, check the host
against the allowlist, resolve it on the host, refuse addresses on the host or its Docker networks,
connect to the vetted address itself (not the name again, so a second DNS answer cannot swap it) and
pipe bytes both ways. TLS stays end to end: pip checks the certificate as before.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from .base import SandboxError

PORT = 443
HEAD_LIMIT = 16 * 1024
TIMEOUT = 30.0
# Beyond loopback/link-local/unspecified/multicast: "this network" and cloud metadata addresses
# outside link-local (AWS over IPv6, Alibaba).
EXTRA_BLOCKED = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "fd00:ec2::254/128", "100.100.100.200/32")]


def forbidden(ip: str, blocked: Iterable[ipaddress._BaseNetwork] = ()) -> bool:
    """Whether an address is one setup code must not reach. Not `is_private`: the package index may
    sit behind a proxy on a documentation or private range (203.0.113.80 on the build machines)."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return (addr.is_loopback or addr.is_link_local or addr.is_unspecified or addr.is_multicast
            or any(addr in net for net in (*EXTRA_BLOCKED, *blocked)))


class EgressProxy:
    def __init__(self, allow_hosts: Iterable[str], blocked: Iterable[str] = ()) -> None:
        self.allow = {h.lower().rstrip(".") for h in allow_hosts}
        self.blocked = [ipaddress.ip_network(n, strict=False) for n in blocked]
        self.dir = Path(tempfile.mkdtemp(prefix="patchwright-egress-"))
        os.chmod(self.dir, 0o755)  # containers under a user-namespace remap are not host root
        self.socket_path = self.dir / "proxy.sock"
        self.decisions: deque[str] = deque(maxlen=1000)  # "host:443 allowed|refused: why", for tests
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None

    def start(self) -> EgressProxy:
        ready: list[BaseException | None] = []
        started = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                server = self._loop.run_until_complete(
                    asyncio.start_unix_server(self._handle, path=str(self.socket_path), limit=HEAD_LIMIT))
                os.chmod(self.socket_path, 0o666)
            except Exception as exc:  # noqa: BLE001 - handed to start()'s caller
                ready.append(exc)
                started.set()
                self._loop.close()
                return
            ready.append(None)
            started.set()
            self._loop.run_forever()
            server.close()
            # Tunnels still open belong to containers that are gone: end them without a word.
            self._loop.set_exception_handler(lambda loop, context: None)
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

        self._thread = threading.Thread(target=main, name="patchwright-egress", daemon=True)
        self._thread.start()
        started.wait(10)
        if not ready or ready[0] is not None:
            self.stop()
            raise SandboxError(f"the egress proxy for setup did not start: {ready[0] if ready else 'timeout'}")
        return self

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    async def _decide(self, head: bytes) -> tuple[list[str], str]:
        """The addresses to try, none if refused, and the decision in words."""
        method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + ["", ""]
        host, _, port = target.rpartition(":")
        host = host.strip("[]").lower().rstrip(".")
        if method != "CONNECT" or port != str(PORT):
            return [], f"{target} refused: only CONNECT to port {PORT}"
        if host not in self.allow:
            return [], f"{target} refused: host not in the allowlist"
        try:
            infos = await self._loop.getaddrinfo(host, PORT, type=socket.SOCK_STREAM)
        except OSError as exc:
            return [], f"{target} refused: does not resolve ({exc})"
        addrs = list(dict.fromkeys(info[4][0] for info in infos))
        bad = [a for a in addrs if forbidden(a, self.blocked)]
        if bad or not addrs:  # any bad answer refuses the name: the index never resolves there
            return [], f"{target} refused: resolves to {', '.join(bad) or 'nothing'}"
        return addrs, f"{target} allowed: {', '.join(addrs)}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
            addrs, why = await self._decide(head)
            self.decisions.append(why)
            if not addrs:
                await _answer(writer, b"403 Forbidden", why)
                return
            upstream = await _connect(addrs)
            if upstream is None:
                await _answer(writer, b"502 Bad Gateway", f"cannot connect to {', '.join(addrs)}")
                return
            up_reader, up_writer = upstream
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                await _both_ways(reader, writer, up_reader, up_writer)
            finally:
                up_writer.close()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that went away or sent junk; nothing to answer
        finally:
            writer.close()


async def _answer(writer: asyncio.StreamWriter, status: bytes, why: str) -> None:
    body = f"patchwright egress: {why}\n".encode()
    writer.write(b"HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body))
    await writer.drain()


async def _connect(addrs: list[str]):
    # The vetted addresses themselves, in the resolver's order (an IPv6 one may be unroutable here).
    for addr in addrs:
        try:
            return await asyncio.wait_for(asyncio.open_connection(addr, PORT), TIMEOUT)
        except (OSError, TimeoutError):
            continue
    return None


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
        if dst.can_write_eof():
            dst.write_eof()


async def _both_ways(r1, w1, r2, w2) -> None:
    # When one side finishes, the other gets a grace period: a peer that half-closes and then
    # goes silent must not hold the tunnel open forever.
    tasks = [asyncio.ensure_future(_pipe(r1, w2)), asyncio.ensure_future(_pipe(r2, w1))]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    if pending:
        _, pending = await asyncio.wait(pending, timeout=TIMEOUT)
    for task in pending:
        task.cancel()


# One proxy per allowlist per process, started by the first setup that needs it and stopped when
# the last one ends: no listener is left open between builds.
_lock = threading.Lock()
_leases: dict[tuple, list] = {}


@contextlib.contextmanager
def lease(allow_hosts: Iterable[str], blocked: Iterable[str] = ()) -> Iterator[EgressProxy]:
    key = (tuple(sorted(set(allow_hosts))), tuple(sorted(set(blocked))))
    with _lock:
        entry = _leases.get(key)
        if entry is None:
            entry = _leases[key] = [EgressProxy(*key).start(), 0]
        entry[1] += 1
    try:
        yield entry[0]
    finally:
        with _lock:
            entry[1] -= 1
            if entry[1] == 0 and _leases.get(key) is entry:
                del _leases[key]
                entry[0].stop()


def _stop_all() -> None:
    with _lock:
        for proxy, _ in _leases.values():
            proxy.stop()
        _leases.clear()


def _forget_in_child() -> None:
    # A forked child has the parent's table but not its proxy threads; the directories are the parent's.
    global _lock
    _lock = threading.Lock()
    _leases.clear()


atexit.register(_stop_all)
os.register_at_fork(after_in_child=_forget_in_child)
