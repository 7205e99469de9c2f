"""Unit tests for the handover state machine in services.handover.domain."""
from __future__ import annotations

import itertools

import pytest

from services.handover import domain
from stafett.errors import Conflict

STATES = (domain.CONSENT_PENDING, domain.AWAITING_ACCEPTANCE, domain.ACCEPTED,
          domain.COMPLETED, domain.DECLINED, domain.CANCELLED, domain.EXPIRED)

#: the workflow, written out independently of domain.TRANSITIONS
EXPECTED_ALLOWED = {
    ("consent_pending", "awaiting_acceptance"), ("consent_pending", "cancelled"),
    ("consent_pending", "expired"),
    ("awaiting_acceptance", "accepted"), ("awaiting_acceptance", "declined"),
    ("awaiting_acceptance", "cancelled"), ("awaiting_acceptance", "expired"),
    # consent stopped covering the receiver before acceptance: it waits for consent again
    ("awaiting_acceptance", "consent_pending"),
    ("accepted", "completed"),
    # the log was closed, or consent ended, between acceptance and application: the logs
    # service refuses it
    ("accepted", "cancelled"),
}

ALLOWED = sorted((state, target) for state, targets in domain.TRANSITIONS.items()
                 for target in targets)
REFUSED = sorted(pair for pair in itertools.product(STATES, STATES)
                 if pair not in set(ALLOWED))


def test_every_state_has_an_entry():
    assert set(domain.TRANSITIONS) == set(STATES)


def test_transitions_table_is_the_workflow():
    assert set(ALLOWED) == EXPECTED_ALLOWED


def test_pairs_cover_the_whole_square():
    assert len(ALLOWED) == 10
    assert len(REFUSED) == len(STATES) ** 2 - 10 == 39


@pytest.mark.parametrize("current, target", ALLOWED)
def test_allowed_transition_succeeds(current, target):
    assert domain.transition(current, target) == target


@pytest.mark.parametrize("current, target", REFUSED)
def test_every_other_transition_is_a_conflict(current, target):
    with pytest.raises(Conflict) as caught:
        domain.transition(current, target)
    assert caught.value.status == 409
    assert current in caught.value.detail and target in caught.value.detail


@pytest.mark.parametrize("current, target", [("unknown", domain.CANCELLED),
                                             (domain.ACCEPTED, "unknown")])
def test_unknown_states_are_a_conflict(current, target):
    with pytest.raises(Conflict):
        domain.transition(current, target)


def test_terminal_states_go_nowhere():
    for state in (domain.COMPLETED, domain.DECLINED, domain.CANCELLED, domain.EXPIRED):
        assert domain.TRANSITIONS[state] == set()
        assert state not in domain.OPEN_STATES


def test_cancellable_states_can_become_cancelled():
    assert domain.CANCELLABLE_STATES <= domain.OPEN_STATES
    for state in domain.CANCELLABLE_STATES:
        assert domain.transition(state, domain.CANCELLED) == domain.CANCELLED


def test_state_sets_partition_the_states():
    assert set(domain.STATES) == set(STATES)
    assert domain.OPEN_STATES | domain.TERMINAL_STATES == set(STATES)
    assert not domain.OPEN_STATES & domain.TERMINAL_STATES
    # the requester cannot take back what the receiver has taken, and it does not expire
    assert domain.ACCEPTED in domain.OPEN_STATES
    assert domain.ACCEPTED not in domain.CANCELLABLE_STATES | domain.EXPIRABLE_STATES


def test_only_completed_moves_the_baton_and_only_from_accepted():
    into_completed = {state for state, targets in domain.TRANSITIONS.items()
                      if domain.COMPLETED in targets}
    assert into_completed == {domain.ACCEPTED}
