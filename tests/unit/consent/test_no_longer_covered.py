"""The ending event's ``no_longer_covers``: which agencies every service must stop showing
the child's data to, by the consent service's own ``covers`` rule."""
from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from services.consent import domain

TODAY = date(2026, 3, 10)
SCHOOL, OTHER_SCHOOL, PPT, NURSE = "974760673", "971526920", "974760681", "974760703"
REGISTRY = [(SCHOOL, "school"), (OTHER_SCHOOL, "school"), (PPT, "ppt"), (NURSE, "health_station")]


def consent(id_, agencies=(), types=(), status="active", start=-10, end=100):
    return SimpleNamespace(id=id_, status=status, scope_agencies=list(agencies),
                           scope_agency_types=list(types),
                           valid_from=TODAY + timedelta(days=start),
                           valid_until=TODAY + timedelta(days=end))


def test_a_withdrawn_consent_uncovers_every_agency_it_named_or_typed():
    ended = consent("a", agencies=[SCHOOL], types=["ppt"], status="withdrawn")
    assert domain.no_longer_covered(ended, [ended], REGISTRY, TODAY) == sorted([PPT, SCHOOL])


def test_by_type_it_names_every_registered_agency_of_the_type():
    ended = consent("a", types=["school"], status="expired")
    assert domain.no_longer_covered(ended, [], REGISTRY, TODAY) == sorted([OTHER_SCHOOL, SCHOOL])


def test_narrowed_only_what_the_remaining_consent_leaves_out():
    ended = consent("a", agencies=[SCHOOL], types=["ppt", "health_station"],
                    status="superseded")
    narrower = consent("b", agencies=[SCHOOL], types=["health_station"])
    assert domain.no_longer_covered(ended, [narrower], REGISTRY, TODAY) == [PPT]


def test_another_consent_covering_by_type_keeps_a_named_agency():
    ended = consent("a", agencies=[SCHOOL], status="withdrawn")
    assert domain.no_longer_covered(ended, [consent("b", types=["school"])], REGISTRY,
                                    TODAY) == []


def test_a_consent_not_in_force_today_keeps_nothing_covered():
    ended = consent("a", agencies=[SCHOOL], status="withdrawn")
    later = consent("b", agencies=[SCHOOL], start=5)              # not yet in force
    pending = consent("c", agencies=[SCHOOL], status="pending")   # awaiting a guardian
    assert domain.no_longer_covered(ended, [later, pending], REGISTRY, TODAY) == [SCHOOL]
