"""Consent's decision about which agencies may work with a child's case, and on which days.

The consent service alone decides it (``services/consent/domain.py``, ``coverage_of``:
which consents are in force, from which day to which, for which agencies and agency types)
and sends the decision as data: ``coverage`` in each consent event and in its ``coverage``
answer. The logs service keeps that data as it came (its projection) and the handover
service asks for it; both only look a day and an agency up in it here. Neither reads a
consent's status, scope or validity dates (``tests/unit/test_rule_owners.py``).

Data: a list of windows, ``{"from": "2026-01-05", "until": "2026-12-31",
"agencies": [org numbers], "agency_types": [types]}``, each day of a window included. An
agency is covered on a day when a window holding that day names it, or its type.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Covered:
    """What consent covers on one day."""
    agencies: frozenset[str] = frozenset()
    agency_types: frozenset[str] = frozenset()

    def covers(self, agency: str | None, agency_type: str | None) -> bool:
        return bool(agency) and (agency in self.agencies or agency_type in self.agency_types)


NOTHING = Covered()


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    agencies: frozenset[str]
    agency_types: frozenset[str]

    def to_data(self) -> dict:
        return {"from": self.start.isoformat(), "until": self.end.isoformat(),
                "agencies": sorted(self.agencies), "agency_types": sorted(self.agency_types)}

    @classmethod
    def from_data(cls, data: dict) -> "Window":
        return cls(date.fromisoformat(data["from"]), date.fromisoformat(data["until"]),
                   frozenset(data.get("agencies") or ()),
                   frozenset(data.get("agency_types") or ()))


@dataclass(frozen=True)
class Coverage:
    """The decision for a child (or for one of its consents): its windows."""
    windows: tuple[Window, ...] = ()

    def on(self, day: date) -> Covered:
        held = [w for w in self.windows if w.start <= day <= w.end]
        return Covered(frozenset(a for w in held for a in w.agencies),
                       frozenset(t for w in held for t in w.agency_types))

    def covers(self, agency: str | None, agency_type: str | None, day: date) -> bool:
        return self.on(day).covers(agency, agency_type)

    def to_data(self) -> list[dict]:
        return [w.to_data() for w in self.windows]

    @classmethod
    def from_data(cls, data: Iterable[dict] | None) -> "Coverage":
        return cls(tuple(Window.from_data(w) for w in data or ()))

    @classmethod
    def union(cls, decisions: Iterable[Iterable[dict] | None]) -> "Coverage":
        """Several decisions as data (one per consent) taken together."""
        return cls(tuple(w for data in decisions for w in cls.from_data(data).windows))

    @classmethod
    def of_answer(cls, answer: Iterable[dict]) -> "Coverage":
        """The consent service's ``coverage`` answer for a child (its open consents, each
        with its ``coverage``) taken together."""
        return cls.union(item.get("coverage") for item in answer)
