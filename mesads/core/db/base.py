"""Django's PostgreSQL backend, with a deadline on every wait for the server.

Why here, and not elsewhere (OPERATIONS.md, review of 2026-12-07, O2). A PostgreSQL frozen
by SIGSTOP, or a network path that silently drops packets, leaves a persistent
connection (``CONN_MAX_AGE``) waiting for an answer that never comes: ``connect_timeout``
only bounds new connections and ``statement_timeout`` only a server that still runs; the
frozen server's kernel still acknowledges TCP, so keepalives and ``tcp_user_timeout``
never fire either. Every request then hung until gunicorn killed its worker (31.5 s).

Only the client can notice. psycopg consumes each round trip through
``Connection.wait()``, which resumes the round trip's generator every 100 ms when nothing
arrived: ``DeadlineConnection`` watches those resumptions. That is one well-defined
place, in the request's own thread, where raising is safe (the connection is then
closed and thrown away; Django reconnects at the next request). A SIGALRM deadline in
the gunicorn worker was the other way: it would interrupt whatever runs at that moment
(a Redis write, a template, a file upload half stored) and fire for slow pages whose
database is perfectly healthy.

A slow query is not a frozen server, and web requests may legitimately run queries for
up to ``DB_STATEMENT_TIMEOUT`` (the server cancels them then). So a silence of
``response_timeout`` seconds is not an error by itself: it makes the connection check
that the server still answers a *new* connection (the postmaster forks a backend and
authenticates it; any answer, even « too many clients », is a sign of life). If it does,
the wait goes on and the check is repeated after each further silence; if it does not,
the round trip fails with ``ServerNotAnswering``. A frozen server or a dead path thus
fails a request in about twice ``response_timeout``, a healthy one is never cut.

Once a server was found not answering, new connections to it fail at once for a short
hold (``hold_seconds``) instead of each request waiting ``connect_timeout`` for it: the
first request during an outage waits, the following ones get the error page at once, and
one request per hold tries again, so the service comes back by itself.

Only web requests get this (``OPTIONS["response_timeout"]``, set by the settings when
gunicorn runs them): the worker, imports and migrations wait as long as their work
takes. ``DatabaseWrapper.deadline()`` gives any caller a hard deadline of its own, probe
or not (the health check).
"""

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import monotonic

import psycopg
from django.db.backends.postgresql import base

# What the round trip's generator is sent when the socket had nothing for it.
_NOTHING = psycopg.waiting.READY_NONE
# How often psycopg resumes a round trip that waits (its own default).
_WAIT_INTERVAL = getattr(psycopg.connection, "_WAIT_INTERVAL", 0.1)
# psycopg's own minimum for connect_timeout (libpq's convention).
_MIN_CONNECT_TIMEOUT = 2
# psycopg.connect()'s own arguments, which a libpq connection string does not take.
_CONNECT_ARGUMENTS = {"context", "cursor_factory", "row_factory", "prepare_threshold"}

# Per process: (host, port) of a server found not answering → until when new connections
# to it fail at once.
_unreachable_until: dict[tuple[str, str], float] = {}
_unreachable_lock = threading.Lock()


class ServerNotAnswering(psycopg.OperationalError):
    """PostgreSQL gave no sign of life in time; the connection was closed."""


@dataclass
class DeadlinePolicy:
    """How long a connection waits for its server (shared by a Django connection and the
    psycopg connections it opens)."""

    # Seconds of silence before checking that the server still answers (None: wait).
    response_timeout: float | None = None
    # A monotonic time after which any wait fails (DatabaseWrapper.deadline()).
    hard_deadline: float | None = None
    # How to open a probe connection: the connection's own parameters.
    probe_params: dict = field(default_factory=dict)

    @property
    def address(self) -> tuple[str, str]:
        return (str(self.probe_params.get("host", "")), str(self.probe_params.get("port", "")))

    @property
    def hold_seconds(self) -> float:
        return 2 * (self.response_timeout or 0)

    def connect_timeout(self, configured: int | None) -> int | None:
        """The connect timeout to use now: the configured one, shortened to what is left
        of a hard deadline. Raise ServerNotAnswering when nothing is left, or when the
        server was just found not answering."""
        now = monotonic()
        if self.response_timeout and now < _unreachable_until.get(self.address, 0):
            raise ServerNotAnswering("PostgreSQL did not answer a moment ago")
        if self.hard_deadline is None:
            return configured
        left = self.hard_deadline - now
        if left <= 0:
            raise ServerNotAnswering("no time left to connect to PostgreSQL")
        left = max(_MIN_CONNECT_TIMEOUT, math.ceil(left))
        return min(configured, left) if configured else left

    def mark_unreachable(self) -> None:
        if self.response_timeout:
            with _unreachable_lock:
                _unreachable_until[self.address] = monotonic() + self.hold_seconds

    def mark_reachable(self) -> None:
        if _unreachable_until:
            with _unreachable_lock:
                _unreachable_until.pop(self.address, None)

    def server_answers(self) -> bool:
        """Whether the server answers a new connection within ``response_timeout``."""
        timeout = max(_MIN_CONNECT_TIMEOUT, math.ceil(self.response_timeout))
        try:
            probe = psycopg.connect(**{**self.probe_params, "connect_timeout": timeout})
        except psycopg.OperationalError as error:
            # Refused at the door by the server itself (too many clients, starting up):
            # it runs. No SQLSTATE: it never answered (timeout, no route, refused port).
            return error.sqlstate is not None
        probe.close()
        return True


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose waits for the server follow a ``DeadlinePolicy``."""

    policy: DeadlinePolicy | None = None

    def wait(self, gen, interval=_WAIT_INTERVAL, timeout=None):
        policy = self.policy
        if policy is None or (policy.response_timeout is None and policy.hard_deadline is None):
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(self._watched(gen, policy), interval, timeout)
        except ServerNotAnswering:
            # The round trip is abandoned half-way: the connection's state is unknown,
            # it must never be used again.
            self.close()
            raise

    def _watched(self, gen, policy: DeadlinePolicy) -> Iterator:
        """``gen``, with a check of the deadlines each time psycopg resumes it empty-handed
        (every ``interval``, 100 ms)."""
        last_sign = monotonic()
        try:
            state = next(gen)
            while True:
                ready = yield state
                if ready != _NOTHING:
                    last_sign = monotonic()
                else:
                    now = monotonic()
                    if policy.hard_deadline is not None:
                        if now >= policy.hard_deadline:
                            raise ServerNotAnswering("PostgreSQL did not answer in time")
                    elif now - last_sign >= policy.response_timeout:
                        if not policy.server_answers():
                            policy.mark_unreachable()
                            raise ServerNotAnswering(
                                f"PostgreSQL gave no sign of life for {now - last_sign:.1f} s"
                            )
                        last_sign = monotonic()
                state = gen.send(ready)
        except StopIteration as done:
            return done.value


class _Psycopg:
    """psycopg as Django's backend sees it (``DatabaseWrapper.Database``: its errors, its
    types), but whose ``connect()`` opens a ``DeadlineConnection``."""

    def __getattr__(self, name):
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args, **kwargs) -> DeadlineConnection:
        return DeadlineConnection.connect(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Psycopg()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline_policy = DeadlinePolicy(
            # 0 turns the check off, as None does.
            response_timeout=self.settings_dict["OPTIONS"].get("response_timeout") or None
        )

    def get_connection_params(self):
        params = super().get_connection_params()
        params.pop("response_timeout", None)
        return params

    def get_new_connection(self, conn_params):
        policy = self.deadline_policy
        policy.probe_params = {
            name: value for name, value in conn_params.items() if name not in _CONNECT_ARGUMENTS
        }
        conn_params = {**conn_params}
        timeout = policy.connect_timeout(conn_params.get("connect_timeout"))
        if timeout is not None:
            conn_params["connect_timeout"] = timeout
        try:
            connection = super().get_new_connection(conn_params)
        except psycopg.errors.ConnectionTimeout:
            policy.mark_unreachable()
            raise
        policy.mark_reachable()
        connection.policy = policy
        return connection

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Every wait for the server inside fails once ``seconds`` have passed (connecting
        included, within psycopg's 2 s minimum), and the connection is then closed."""
        policy = self.deadline_policy
        previous = policy.hard_deadline
        policy.hard_deadline = monotonic() + seconds
        try:
            yield
        finally:
            policy.hard_deadline = previous
