"""The status workflow: category-level move table, custom statuses, configuration errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.status import DEFAULT_TRANSITIONS, Status, StatusCategory, Workflow
from helpdesk_core.errors import ConfigurationError, InvalidTransition

C = StatusCategory
FAST = settings(max_examples=60, deadline=None)

# The spine as the product describes it, written out here so that a change to the table in
# the code has to be made deliberately in both places.
EXPECTED_MOVES = {
    (C.NEW, C.OPEN), (C.NEW, C.WAITING_ON_CUSTOMER), (C.NEW, C.WAITING_ON_THIRD_PARTY),
    (C.NEW, C.RESOLVED), (C.NEW, C.CLOSED),
    (C.OPEN, C.WAITING_ON_CUSTOMER), (C.OPEN, C.WAITING_ON_THIRD_PARTY), (C.OPEN, C.RESOLVED),
    (C.OPEN, C.CLOSED),
    (C.WAITING_ON_CUSTOMER, C.OPEN), (C.WAITING_ON_CUSTOMER, C.WAITING_ON_THIRD_PARTY),
    (C.WAITING_ON_CUSTOMER, C.RESOLVED), (C.WAITING_ON_CUSTOMER, C.CLOSED),
    (C.WAITING_ON_THIRD_PARTY, C.OPEN), (C.WAITING_ON_THIRD_PARTY, C.WAITING_ON_CUSTOMER),
    (C.WAITING_ON_THIRD_PARTY, C.RESOLVED), (C.WAITING_ON_THIRD_PARTY, C.CLOSED),
    (C.RESOLVED, C.OPEN), (C.RESOLVED, C.CLOSED),
    (C.CLOSED, C.OPEN),
}

custom_statuses = st.lists(
    st.builds(
        Status,
        st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(
            lambda k: k not in {c.value for c in StatusCategory}
        ),
        st.sampled_from(list(StatusCategory)),
    ),
    max_size=6,
    unique_by=lambda s: s.key,
)


def test_default_table_is_the_documented_spine():
    assert set(DEFAULT_TRANSITIONS) == EXPECTED_MOVES
    assert Workflow.default().transitions == DEFAULT_TRANSITIONS


def test_every_category_has_a_builtin_status_named_after_it():
    workflow = Workflow.default()
    for category in StatusCategory:
        assert workflow.status(category.value).category is category


@FAST
@given(custom=custom_statuses, data=st.data())
def test_every_pair_is_either_allowed_by_the_table_or_refused(custom, data):
    workflow = Workflow.with_custom(custom)
    keys = list(workflow.statuses)
    source = data.draw(st.sampled_from(keys), label="from")
    target = data.draw(st.sampled_from(keys), label="to")
    src_cat = workflow.statuses[source].category
    dst_cat = workflow.statuses[target].category
    allowed = source != target and (
        (src_cat is dst_cat and src_cat is not C.MERGED) or (src_cat, dst_cat) in EXPECTED_MOVES
    )
    if allowed:
        assert workflow.check(source, target) == workflow.statuses[target]
    else:
        with pytest.raises(InvalidTransition) as info:
            workflow.check(source, target)
        assert info.value.from_status == source
        assert info.value.to_status == target


@FAST
@given(custom=custom_statuses)
def test_allowed_targets_agree_with_check(custom):
    workflow = Workflow.with_custom(custom)
    for source in workflow.statuses:
        targets = workflow.allowed_targets(source)
        for key in workflow.statuses:
            permitted = workflow.statuses[key] in targets
            if permitted:
                workflow.check(source, key)
            else:
                with pytest.raises(InvalidTransition):
                    workflow.check(source, key)


@FAST
@given(custom=custom_statuses)
def test_merged_is_never_reachable_by_a_transition(custom):
    workflow = Workflow.with_custom([*custom, Status("merged_elsewhere", C.MERGED)])
    merged_keys = [k for k, s in workflow.statuses.items() if s.category is C.MERGED]
    for source in workflow.statuses:
        for target in merged_keys:
            with pytest.raises(InvalidTransition):
                workflow.check(source, target)
    # and a merged ticket is not moved out of it by a transition either
    for target in workflow.statuses:
        with pytest.raises(InvalidTransition):
            workflow.check("merged", target)


def test_custom_statuses_map_onto_their_category():
    parts = Status("awaiting_parts", C.WAITING_ON_THIRD_PARTY, "Awaiting parts")
    supplier = Status("with_supplier", C.WAITING_ON_THIRD_PARTY)
    workflow = Workflow.with_custom([parts, supplier])
    assert workflow.status("awaiting_parts").category is C.WAITING_ON_THIRD_PARTY
    # into a custom status: decided by its category's row in the table
    assert workflow.check("open", "awaiting_parts") is parts
    # between two custom statuses of one category: always allowed
    assert workflow.check("awaiting_parts", "with_supplier") is supplier
    assert workflow.check("with_supplier", "waiting_on_third_party").key == "waiting_on_third_party"
    # out of a custom status: the category's row again
    assert workflow.check("awaiting_parts", "resolved").key == "resolved"
    with pytest.raises(InvalidTransition):
        workflow.check("awaiting_parts", "new")


def test_same_category_moves_are_allowed_even_without_a_table_entry():
    triage = Status("triage", C.NEW)
    workflow = Workflow.with_custom([triage], transitions=frozenset())
    assert workflow.check("new", "triage") is triage
    assert workflow.check("triage", "new").key == "new"
    with pytest.raises(InvalidTransition):
        workflow.check("new", "open")


def test_moving_to_the_current_status_is_refused():
    with pytest.raises(InvalidTransition, match="already"):
        Workflow.default().check("open", "open")


def test_unknown_statuses_are_refused():
    workflow = Workflow.default()
    with pytest.raises(InvalidTransition):
        workflow.check("open", "nonexistent")
    with pytest.raises(InvalidTransition):
        workflow.check("nonexistent", "open")
    with pytest.raises(InvalidTransition):
        workflow.status("nonexistent")


def test_reopening_a_closed_ticket_is_allowed_but_resolving_it_again_is_not():
    workflow = Workflow.default()
    assert workflow.check("closed", "open").key == "open"
    with pytest.raises(InvalidTransition):
        workflow.check("closed", "resolved")
    with pytest.raises(InvalidTransition):
        workflow.check("resolved", "new")


def test_a_custom_key_that_repeats_a_builtin_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="twice"):
        Workflow.with_custom([Status("open", C.OPEN)])


def test_a_custom_key_defined_twice_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="twice"):
        Workflow.with_custom([Status("on_hold", C.WAITING_ON_CUSTOMER),
                              Status("on_hold", C.WAITING_ON_THIRD_PARTY)])


@pytest.mark.parametrize(
    "key", ["", "Open", "1st_line", "on hold", "on-hold", "a" * 41, "ünicode", "x\n"]
)
def test_bad_status_keys_are_configuration_errors(key):
    with pytest.raises(ConfigurationError):
        Status(key, C.OPEN)


def test_longest_allowed_key():
    assert Status("a" * 40, C.OPEN).key == "a" * 40


@pytest.mark.parametrize("pair", [(C.OPEN, C.MERGED), (C.MERGED, C.OPEN)])
def test_a_table_that_mentions_merged_is_a_configuration_error(pair):
    with pytest.raises(ConfigurationError, match="merg"):
        Workflow.with_custom((), transitions=DEFAULT_TRANSITIONS | {pair})


def test_configuration_errors_are_value_errors():
    with pytest.raises(ValueError, match="snake_case"):
        Status("Bad", C.OPEN)


def test_category_flags():
    assert {c for c in C if c.is_active} == {
        C.NEW, C.OPEN, C.WAITING_ON_CUSTOMER, C.WAITING_ON_THIRD_PARTY
    }
    assert {c for c in C if c.is_waiting} == {C.WAITING_ON_CUSTOMER, C.WAITING_ON_THIRD_PARTY}
