"""A real socket that accepts and never answers: a hung API server or AWS endpoint."""

from __future__ import annotations

import socket
import threading


class SilentServer:
    """A real socket that accepts connections and never answers (a hung API server or AWS
    endpoint), counting the connections it was given."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port = self._socket.getsockname()[1]
        self.accepted = 0
        self._held: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(connection)  # held open, never read, never answered

    def close(self) -> None:
        self._stop.set()
        self._socket.close()
        for connection in self._held:
            connection.close()
