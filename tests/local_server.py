"""A stdlib HTTP server in a thread on 127.0.0.1, the base of the tests' stand-ins for
providers' APIs (tests/aftercare/delivery/provider_api.py, twilio_api.py).

A subclass gives its request handler to `__init__`; the handler reaches the stand-in as
`self.server.api`. `refuse_connections()` really stops listening, so clients get
"connection refused" until `accept_connections()` listens again on the same port.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    api: Any

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up waiting (time-out tests) closed its end: not an error here.
        pass


class LocalServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.handler = handler
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> Self:
        server = QuietServer(("127.0.0.1", self.port), self.handler)
        server.api = self
        self.port = server.server_address[1]
        # A short poll: stop() (and so refuse_connections) returns within 50 ms.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def refuse_connections(self) -> None:
        """Stop listening: clients get 'connection refused' until accept_connections()."""
        self.stop()

    def accept_connections(self) -> None:
        """Listen again, on the same port."""
        if self._server is None:
            self.start()
