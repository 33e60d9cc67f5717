#!/usr/bin/env python3
"""A cservice worker in Python, with nothing but the standard library.

It speaks the two protocols every cservice (and systemd) worker may use:
  - socket activation: the listening socket arrives as fd 3 (LISTEN_FDS=1, LISTEN_PID=our pid);
  - notify: datagrams to $NOTIFY_SOCKET ("@name" is the abstract namespace), here READY=1 and
    STATUS=..., and STOPPING=1 when it leaves.
Standalone (no LISTEN_FDS) it binds 127.0.0.1:8081 itself. SIGTERM: stop accepting, finish the
request in flight, exit 0.
"""
import http.server
import os
import signal
import socket
import socketserver
import threading


def notify(message: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)


def inherited_socket():
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    if int(os.environ.get("LISTEN_FDS", "0")) < 1:
        return None
    return socket.socket(fileno=3)


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = f"hello from python pid {os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # one line per request, to stderr (relayed)
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main() -> None:
    listener = inherited_socket()
    if listener is not None:
        # Non-blocking accept: another worker may take the connection first. (The flag is on
        # the socket all workers share, and every event-loop server sets it anyway.)
        listener.setblocking(False)
        server = Server(listener.getsockname(), Hello, bind_and_activate=False)
        server.socket = listener
    else:
        server = Server(("127.0.0.1", 8081), Hello)

    def stop(signum, frame):
        notify("STOPPING=1")
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    notify(f"STATUS=serving on {server.socket.getsockname()}")
    notify("READY=1")
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
