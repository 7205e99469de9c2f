"""Events the notifications service consumes (it publishes none yet)."""
from __future__ import annotations

CONSUMES = {"logs": ["log.measure_added"],
            "consent": ["consent.expiring", "consent.expired"]}
