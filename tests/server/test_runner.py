"""The Granian runner's own behaviour."""

from __future__ import annotations

import threading

from smithers.server.runner import _granian_class


def test_stop_handler_survives_a_signal_arriving_inside_it() -> None:
    server = _granian_class()("smithers.server.asgi:app_from_env", factory=True)
    real = server.main_loop_interrupt

    class SignalledInside(threading.Event):
        """An Event whose set() is interrupted by the next signal while it holds its lock."""

        def set(self) -> None:
            with self._cond:  # type: ignore[attr-defined]
                server.signal_handler_interrupt()  # the second SIGTERM, delivered right here
            real.set()

    server.main_loop_interrupt = SignalledInside()
    done = threading.Event()

    def first_signal() -> None:
        server.signal_handler_interrupt()
        done.set()

    threading.Thread(target=first_signal, daemon=True).start()
    assert done.wait(5), "the stop handler deadlocked on a nested signal"
    assert server.interrupt_signal and real.is_set()
