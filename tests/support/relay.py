"""A TCP relay on a loopback port, between the application and a real server
(PostgreSQL), that a test switches between three behaviours:

- ``forward()``: bytes go through both ways;
- ``drop()``: the sockets stay open and nothing moves either way, in or out, and new
  connections are accepted and left silent: what a frozen server (SIGSTOP, whose kernel
  still acknowledges TCP) or a path that silently drops packets looks like from the client;
- ``refuse()``: the listener is closed (new connections are refused) and the open ones are
  reset: a server that is down.

Plain threads and blocking sockets: a relay carries a handful of connections.
"""

import select
import socket
import struct
import threading
import time
from contextlib import suppress

FORWARD, DROP, REFUSE = "forward", "drop", "refuse"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset(sock: socket.socket) -> None:
    # SO_LINGER 0: close() sends a RST, as a dead server's kernel does.
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.close()


class Relay:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.mode = FORWARD
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self._stopped = False
        self._listen()

    # --- the test's switches ---------------------------------------------------------

    def forward(self) -> None:
        self.mode = FORWARD
        if self._listener is None:
            self._listen()

    def drop(self) -> None:
        self.mode = DROP

    def refuse(self) -> None:
        self.mode = REFUSE
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() first: close() alone does not wake the thread blocked in
            # accept(), and the port would go on accepting.
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            _reset(client)
            _reset(server)

    def close(self) -> None:
        self._stopped = True
        self.refuse()

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- inside ----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by refuse()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while not self._stopped:
            if self.mode != FORWARD:
                # Nothing is read: what the peer sends waits in the kernel's buffers,
                # acknowledged, like bytes sent to a frozen process.
                if self.mode == REFUSE:
                    return
                time.sleep(0.05)
                continue
            try:
                readable, _, _ = select.select([source], [], [], 0.1)
                if not readable or self.mode != FORWARD:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
            except (OSError, ValueError):
                break
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)
