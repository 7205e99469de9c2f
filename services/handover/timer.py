"""A nameko timer whose interval comes from configuration."""
from __future__ import annotations

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    """A timer whose interval is read from configuration when the container sets up."""

    def __init__(self, config_key: str, default: float, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.interval))


configured_timer = ConfiguredTimer.decorator
