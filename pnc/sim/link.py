"""One sans-IO session machine on one asyncio stream: the I/O loop the simulators share.

:class:`SessionLink` reads the connection, feeds the machine (``receive_data``), hands every event
to the application's ``on_event`` callback, writes what the machine wants sent
(``data_to_send``) and wakes the machine at its ``next_deadline`` (``tick``): the machines never
sleep, this loop does. A callback may return a coroutine (an OCPP call to the backend, say); it
runs as a task, and when it finishes the loop wakes up, so that a decision it took
(``secc.authorize()``, ``secc.certificate_installation_response()``) goes out at once.

The loop ends when the machine has ended (its last bytes written) or the peer closed the
connection; it closes its side of the connection either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from v2g.session import Event

#: How many bytes one read takes from the connection (a V2GTP frame may span several reads).
READ_SIZE = 65536
#: How long closing waits for the peer to acknowledge (TLS close_notify, FIN).
CLOSE_TIMEOUT = 2.0

EventHandler = Callable[[Event], Awaitable[None] | None]


class Machine(Protocol):
    """What :class:`SessionLink` needs of :class:`~v2g.session.SeccSession` and
    :class:`~v2g.session.EvccSession`."""

    @property
    def ended(self) -> bool: ...

    @property
    def next_deadline(self) -> float | None: ...

    def receive_data(self, data: bytes, now: float | None = None) -> list[Event]: ...

    def tick(self, now: float) -> list[Event]: ...

    def data_to_send(self) -> bytes: ...

    def connection_lost(self, now: float | None = None) -> list[Event]: ...


@dataclass
class Timed:
    """An event and when it happened (``time.time()`` seconds)."""

    at: float
    event: Event


@dataclass
class LinkLog:
    """What happened on one link: every event, the time of every write, and I/O failures."""

    events: list[Timed] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def of(self, kind: type[Event]) -> list[Event]:
        return [t.event for t in self.events if isinstance(t.event, kind)]


class SessionLink:
    """Runs ``machine`` on ``reader``/``writer`` until the session ends (see the module docstring)."""

    def __init__(
        self,
        machine: Machine,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: EventHandler | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.machine = machine
        self.reader = reader
        self.writer = writer
        self.on_event = on_event
        self.clock = clock
        self.log = LinkLog()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Make the loop flush and tick now (after a decision taken outside an event callback)."""
        self._wake.set()

    async def run(self) -> LinkLog:
        read: asyncio.Task[bytes] | None = None
        try:
            await self._flush()
            while not self.machine.ended:
                if read is None:
                    read = asyncio.ensure_future(self.reader.read(READ_SIZE))
                waker = asyncio.ensure_future(self._wake.wait())
                deadline = self.machine.next_deadline
                timeout = None if deadline is None else max(0.0, deadline - self.clock())
                done, _ = await asyncio.wait(
                    {read, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                waker.cancel()
                self._wake.clear()
                if read in done:
                    task, read = read, None
                    try:
                        data = task.result()
                    except (ConnectionError, ssl.SSLError, OSError) as exc:
                        self.log.errors.append(f"read: {type(exc).__name__}: {exc}")
                        data = b""
                    now = self.clock()
                    events = (
                        self.machine.receive_data(data, now) if data else self.machine.connection_lost(now)
                    )
                else:
                    events = self.machine.tick(self.clock())
                self._dispatch(events)
                await self._flush()
        finally:
            if read is not None:
                read.cancel()
                with contextlib.suppress(BaseException):
                    await read
            for pending in list(self._tasks):
                pending.cancel()
            await self._close()
        return self.log

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            self.log.events.append(Timed(self.clock(), event))
            if self.on_event is None:
                continue
            result = self.on_event(event)
            if result is not None:
                task = asyncio.ensure_future(self._after(result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _after(self, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception as exc:  # the callback's own failure: logged, the machine decides the rest
            self.log.errors.append(f"event handler: {type(exc).__name__}: {exc}")
        finally:
            self.wake()

    async def _flush(self) -> None:
        data = self.machine.data_to_send()
        if not data or self.writer.is_closing():
            return
        self.writer.write(data)
        self.log.writes.append(self.clock())
        try:
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            self.log.errors.append(f"write: {type(exc).__name__}: {exc}")

    async def _close(self) -> None:
        if self.writer.is_closing():
            return
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError, OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), CLOSE_TIMEOUT)


__all__ = ["CLOSE_TIMEOUT", "READ_SIZE", "EventHandler", "LinkLog", "Machine", "SessionLink", "Timed"]
