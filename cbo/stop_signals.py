"""Ctrl-C and SIGTERM stop a command the same way: KeyboardInterrupt, finished work kept, the same message.

SIGTERM is what kill, systemd, Docker and batch schedulers send. Only the exit code tells them apart: 130 after
Ctrl-C, 143 after SIGTERM, as a shell reports a process ended by either.
"""

from __future__ import annotations

import signal

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: list[int] = []


def reset() -> None:
    _received.clear()


def received() -> bool:
    """Whether a stop signal arrived since the last reset (a library may have swallowed its KeyboardInterrupt)."""
    return bool(_received)


def stop(signum, frame) -> None:
    """The handler for both signals."""
    _received.append(signum)
    raise KeyboardInterrupt


def exit_code() -> int:
    return EXIT_TERMINATED if signal.SIGTERM in _received else EXIT_INTERRUPTED


def install() -> dict:
    """Route both signals to ``stop``; returns the previous handlers (empty off the main thread, where Python
    cannot set handlers and the defaults stay)."""
    previous = {}
    try:
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, stop)
    except ValueError:
        pass
    return previous


def restore(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
