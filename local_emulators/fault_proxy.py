"""A TCP proxy in front of an emulator that can play the emulator restarting, without losing its state.

The emulators keep everything in memory, so really restarting one wipes it (the managed services
never lose state). Clients see a restart as: every connection cut, the port refusing connections
for a while, then a fresh server with the same data. On ``SIGUSR1`` this proxy does exactly that:
it closes every connection and its listening socket, stays down for ``--outage-s`` seconds, then
listens again. The reliability stack puts one in front of Pub/Sub and one in front of Firestore
for the services (the storage emulator's notifications and the tests' own clients go direct).
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
import time

from mixscribe.logs import fields, setup_logging

log = logging.getLogger("fault_proxy")
CHUNK = 64 * 1024


class FaultProxy:
    def __init__(self, listen_port: int, upstream: tuple[str, int], outage_s: float) -> None:
        self.listen_port = listen_port
        self.upstream = upstream
        self.outage_s = outage_s
        self.restart = threading.Event()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def _listen(self) -> socket.socket:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.listen_port))
        server.listen(256)
        server.settimeout(0.2)
        return server

    def serve(self) -> None:
        server = self._listen()
        while not self.stopping.is_set():
            if self.restart.is_set():
                server.close()
                self._cut_all()
                log.warning("playing a restart: connections cut, port closed", extra=fields(outage_s=self.outage_s))
                time.sleep(self.outage_s)
                server = self._listen()
                self.restart.clear()
                log.warning("back after the restart")
                continue
            try:
                client, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()
        server.close()
        self._cut_all()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def _cut_all(self) -> None:
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            self._close(sock)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="host:port of the emulator")
    parser.add_argument("--outage-s", type=float, default=10.0)
    args = parser.parse_args(argv)
    setup_logging("fault_proxy")
    host, port = args.upstream.rsplit(":", 1)
    proxy = FaultProxy(args.port, (host, int(port)), args.outage_s)
    signal.signal(signal.SIGUSR1, lambda *_: proxy.restart.set())
    signal.signal(signal.SIGTERM, lambda *_: proxy.stopping.set())
    log.info("fault proxy ready", extra=fields(port=args.port, upstream=args.upstream))
    proxy.serve()


if __name__ == "__main__":
    main()
