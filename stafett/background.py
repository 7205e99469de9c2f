"""A dependency provider that runs one greenthread of its own for the container's life.

The outbox relay, the audit sequencer, the request-key pruner, the metrics listener and the
notifications courier each start one managed thread and kill it when the container stops
(or is killed); ``Background`` is that part, once.
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider


class Background(DependencyProvider):
    """``start_background(run, identifier)`` in ``start``; ``stop`` and ``kill`` end it.

    A subclass with more to release overrides ``stop`` and calls ``super().stop()``."""

    _background = None

    def start_background(self, run, identifier: str) -> None:
        self._background = self.container.spawn_managed_thread(run, identifier=identifier)

    def stop(self):
        if self._background is not None:
            self._background.kill()
            self._background = None

    def kill(self):
        self.stop()
