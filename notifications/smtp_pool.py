"""E-mail connections kept open while the outbox is busy (flows/clock.py). Apprise's e-mail plugin
opens an SMTP connection for every message, with a fresh TLS context (the CA bundle loaded:
about 40 ms of CPU) even on a plain connection, and says QUIT after it: 24 messages a second on
two cores. Apprise still writes and sends every message (its formatting, escaping, headers and
SMTP commands); only where its connection comes from and goes to is changed, inside a `Pool`
block on the sending thread: `apprise.plugins.email.base` looks its connection class up by name
when it sends, so that name is given a subclass that takes an open connection to the same
server, as the same user, from the pool, and gives it back after a message that went through. A
connection that failed a message is closed, never reused. Should a later apprise no longer send
that way, nothing is replaced and every message opens its own connection, as before
(tests/integration/test_outbox_batch.py notices).

Apprise also builds a TLS context (the CA bundle loaded again) for every connection it opens,
even a plain one. Inside `PooledController`, its module's `ssl` is a stand-in that gives
one context per verification setting, made once: a verifying one that nothing changes, and
one without verification that apprise's own settings leave as they are."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import apprise.plugins.email.base as email_base
import apprise.plugins.email.smtp as email_smtp
from apprise.plugins.email.smtp import SMTP_EXCEPTIONS, AppriseSMTPController

IDLE_CHECK_S = 5.0  # a connection idle longer is asked NOOP first (servers drop idle ones)
OK = 250

_current: ContextVar[Pool | None] = ContextVar("rehab_smtp_pool", default=None)
# Set only while PooledController connects: whether it verifies the server's certificate.
_verifying: ContextVar[bool | None] = ContextVar("rehab_smtp_verifying", default=None)
_contexts: dict[bool, ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


class _SslOnce:
    """Stands in for the `ssl` module in apprise's SMTP module: the same names, but a default
    context made once per verification setting while PooledController connects (elsewhere,
    a new one each time, as `ssl` itself gives)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        """The shared context for the connecting controller's setting."""
        verify = _verifying.get()
        if verify is None or args or kwargs:
            return ssl.create_default_context(*args, **kwargs)
        with _contexts_lock:
            context = _contexts.get(verify)
            if context is None:
                context = ssl.create_default_context()
                if not verify:  # as apprise sets it, before any connection may share it
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                _contexts[verify] = context
        return context


class Pool:
    """Open SMTP connections by server and login, each used by one thread at a time."""

    def __init__(self) -> None:
        self._idle: dict[tuple[Any, ...], list[tuple[smtplib.SMTP, float]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.opened = 0  # connections made: a figure for the tests and the benchmark

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        """Apprise e-mail sent on this thread inside the block goes through this pool."""
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)

    def count_opened(self) -> None:
        """One more connection made."""
        with self._lock:
            self.opened += 1

    def take(self, key: tuple[Any, ...]) -> smtplib.SMTP | None:
        """An open connection for `key`, checked if it sat idle, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn, since = idle.pop()
            if time.monotonic() - since < IDLE_CHECK_S or _alive(conn):
                return conn
            _quit(conn)

    def give(self, key: tuple[Any, ...], conn: smtplib.SMTP) -> None:
        """A connection that just carried a message, for the next one."""
        with self._lock:
            if not self._closed:
                self._idle.setdefault(key, []).append((conn, time.monotonic()))
                return
        _quit(conn)

    def close(self) -> None:
        """Say QUIT on every idle connection; any still in use is closed when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn, _ in conns:
                _quit(conn)


class PooledController(AppriseSMTPController):
    """Apprise's SMTP connection, taken from and given back to the thread's pool if any."""

    def __enter__(self) -> PooledController:
        self._pool, self._clean = _current.get(), True
        self._key = (
            self.host, self.port, self.secure_mode, self.user, self.password,
            self.verify_certificate,
        )  # fmt: skip
        reused = self._pool.take(self._key) if self._pool is not None else None
        if reused is not None:
            self._socket = reused  # type: ignore[assignment]  # apprise declares it None only
            return self
        verifying = _verifying.set(bool(self.verify_certificate))
        try:
            super().__enter__()
        finally:
            _verifying.reset(verifying)
        if self._pool is not None:
            self._pool.count_opened()
        return self

    def sendmail(self, from_addr: str, to_addrs: list[str], message: str) -> bool:
        """Apprise's send; a failure marks the connection as not to be reused."""
        sent = bool(super().sendmail(from_addr, to_addrs, message))
        self._clean = self._clean and sent
        return sent

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        conn = self._socket
        if self._pool is None or conn is None or not self._clean or exc_type is not None:
            super().__exit__(exc_type, exc_val, exc_tb)
            return
        self._socket = None
        self._pool.give(self._key, conn)


def install() -> bool:
    """Let apprise's e-mail plugin use the pools; False if this apprise sends otherwise."""
    found = vars(email_base).get("AppriseSMTPController")
    if found is PooledController:
        return True
    if found is not AppriseSMTPController or not hasattr(
        AppriseSMTPController("h", 25, "insecure"), "_socket"
    ):
        return False
    vars(email_base)["AppriseSMTPController"] = PooledController  # see the module's docstring
    if vars(email_smtp).get("ssl") is ssl:
        vars(email_smtp)["ssl"] = _SslOnce()  # see the module's docstring
    return True


def _alive(conn: smtplib.SMTP) -> bool:
    try:
        return conn.noop()[0] == OK
    except SMTP_EXCEPTIONS:
        return False


def _quit(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(*SMTP_EXCEPTIONS):
        conn.quit()
    with contextlib.suppress(*SMTP_EXCEPTIONS):
        conn.close()
