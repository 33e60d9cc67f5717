#!/usr/bin/env python3
"""A worker that takes a while to become ready, as a cache-warming server would.

It tells the master it is not ready yet (STATUS=..., which holds it in the default `auto`
ready mode), asks for more start time (EXTEND_TIMEOUT_USEC) if it needs more than the ready
timeout, and says READY=1 when done. Then it idles until SIGTERM.
  cservice --workers 2 examples/slow_start_worker.py -- 3
"""
import os
import signal
import socket
import sys
import time


def notify(message: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    notify(f"STATUS=warming up for {seconds} s\nEXTEND_TIMEOUT_USEC={int((seconds + 5) * 1e6)}")
    time.sleep(seconds)
    notify("READY=1\nSTATUS=warm")
    print(f"slow worker {os.getpid()} ready after {seconds} s", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
