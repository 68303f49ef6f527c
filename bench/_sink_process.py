"""An SMTP sink in its own process, for benchmarks: it appends each message to a spool file.

A mail server is never inside the sending process in production. Run in the
benchmark's own process, the sink's event loop shares the interpreter (and its
lock) with the code being timed, which slows a sender that waits on other I/O
too. Usage: python bench/_sink_process.py <spool-file>; prints the port, then
serves until stdin closes. Each spool record is an 8-byte length, then the bytes.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading

from aiosmtpd.controller import Controller


class SpoolHandler:
    def __init__(self, path: str) -> None:
        self.spool = open(path, "ab", buffering=0)  # noqa: SIM115 - open for the process's life
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        record = struct.pack(">Q", len(envelope.content)) + envelope.content
        with self.lock:
            self.spool.write(record)
        return "250 Message accepted"


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(SpoolHandler(sys.argv[1]), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
