"""Incident type tree, classification combining and the keyword classifier."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import IncidentType, IncidentTypeTree, Priority
from helpdesk_core.domain.extensions import Classification, KeywordRule, combine_classifications
from helpdesk_core.errors import ValidationError

FAST = settings(max_examples=60, deadline=None)

TREE = IncidentTypeTree.of([
    IncidentType("complaint", "Complaint", responsible="petr", team="returns"),
    IncidentType("complaint/damaged", "Damaged in transit"),
    IncidentType("complaint/damaged/glass", "Broken glass", responsible="eva"),
    IncidentType("complaint/missing", "Missing item", team="warehouse"),
    IncidentType("question", "Question"),
])


def test_lineage_is_nearest_first():
    assert [n.key for n in TREE.lineage("complaint/damaged/glass")] == [
        "complaint/damaged/glass", "complaint/damaged", "complaint"
    ]
    assert [n.key for n in TREE.lineage("question")] == ["question"]


def test_responsibility_is_inherited_per_attribute_from_the_nearest_ancestor():
    assert TREE.responsible_for("complaint") == ("petr", "returns")
    assert TREE.responsible_for("complaint/damaged") == ("petr", "returns")
    assert TREE.responsible_for("complaint/damaged/glass") == ("eva", "returns")
    assert TREE.responsible_for("complaint/missing") == ("petr", "warehouse")
    assert TREE.responsible_for("question") == (None, None)


def test_children_and_membership():
    assert [n.key for n in TREE.children(None)] == ["complaint", "question"]
    assert [n.key for n in TREE.children("complaint")] == ["complaint/damaged",
                                                          "complaint/missing"]
    assert "complaint/missing" in TREE
    assert "complaint/other" not in TREE


def test_unknown_keys_are_validation_errors():
    with pytest.raises(ValidationError) as info:
        TREE.get("complaint/other")
    assert info.value.field == "incident_type"
    with pytest.raises(ValidationError):
        list(TREE.lineage("nope"))
    with pytest.raises(ValidationError):
        TREE.responsible_for("nope")


def test_a_tree_needs_every_parent():
    with pytest.raises(ValidationError, match="parent"):
        IncidentTypeTree.of([IncidentType("complaint/damaged", "Damaged")])


@pytest.mark.parametrize(
    "key", ["", "Complaint", "complaint/", "/complaint", "a/b/c/d/e", "complaint//x", "a b",
            "x" * 41, "complaint\n", "-x", None],
)
def test_invalid_incident_type_keys(key):
    with pytest.raises(ValidationError):
        IncidentType(key, "Name")


def test_incident_type_node_properties():
    node = IncidentType("a/b/c/d", "Deepest allowed")
    assert (node.parent_key, node.depth) == ("a/b/c", 3)
    assert IncidentType("a", "Top").parent_key is None
    with pytest.raises(ValidationError):
        IncidentType("a", "")


# -- combine_classifications -------------------------------------------------------------------


def test_the_most_confident_suggestion_wins_per_attribute_and_tags_add_up():
    combined = combine_classifications([
        Classification("rules", incident_type="question", priority=Priority.LOW,
                       tags=["faq"], confidence=0.5, reason="keyword 'how'"),
        Classification("ml", incident_type="complaint", tags=["Angry"], confidence=0.9),
        Classification("vip", priority=Priority.URGENT, team="key-accounts", confidence=0.7,
                       reason="VIP customer"),
    ])
    assert combined.incident_type == "complaint"
    assert combined.priority is Priority.URGENT
    assert combined.team == "key-accounts"
    assert combined.tags == {"faq", "angry"}
    assert combined.source == "ml+vip"
    assert combined.confidence == 0.7
    assert combined.reason == "rules: keyword 'how'; vip: VIP customer"


def test_ties_go_to_the_earlier_suggestion():
    combined = combine_classifications([
        Classification("first", priority=Priority.HIGH, confidence=0.5),
        Classification("second", priority=Priority.LOW, confidence=0.5),
    ])
    assert combined.priority is Priority.HIGH
    assert combined.source == "first"


def test_no_suggestions_means_no_opinion():
    combined = combine_classifications([])
    assert (combined.incident_type, combined.priority, combined.team) == (None, None, None)
    assert combined.tags == frozenset()
    assert combined.source == "none"


suggestions = st.lists(st.builds(
    Classification,
    source=st.sampled_from(["a", "b", "c"]),
    incident_type=st.none() | st.sampled_from(["complaint", "question"]),
    priority=st.none() | st.sampled_from(list(Priority)),
    team=st.none() | st.sampled_from(["returns", "billing"]),
    tags=st.frozensets(st.sampled_from(["vip", "b2b", "faq"]), max_size=2),
    confidence=st.sampled_from([0.1, 0.5, 0.9, 1.0]),
), max_size=6)


@FAST
@given(items=suggestions)
def test_combined_values_come_from_a_most_confident_suggestion(items):
    combined = combine_classifications(items)
    for name in ("incident_type", "priority", "team"):
        offered = [s for s in items if getattr(s, name) is not None]
        if not offered:
            assert getattr(combined, name) is None
            continue
        top = max(s.confidence for s in offered)
        first_top = next(s for s in offered if s.confidence == top)
        assert getattr(combined, name) == getattr(first_top, name)
    assert combined.tags == frozenset().union(*(s.tags for s in items))


def test_classification_tags_are_validated():
    with pytest.raises(ValidationError):
        Classification("x", tags=["no;way"])


# -- KeywordRule -------------------------------------------------------------------------------


def test_keyword_rule_matches_case_insensitively():
    rule = KeywordRule(keywords=("reklamace", "Beschädigt"), incident_type="complaint",
                       priority=Priority.HIGH, team="returns", tags=("claim",))
    hit = rule.classify("Dobrý den, REKLAMACE zboží")
    assert hit is not None
    assert (hit.source, hit.incident_type, hit.priority, hit.team) == (
        "rules", "complaint", Priority.HIGH, "returns"
    )
    assert hit.tags == {"claim"}
    assert hit.confidence == 0.5
    assert "reklamace" in hit.reason
    assert rule.classify("Lieferung BESCHÄDIGT") is not None
    assert rule.classify("Lieferung beschaedigt") is None


def test_keyword_rule_uses_casefolding():
    assert KeywordRule(keywords=("straße",)).classify("STRASSE gesperrt") is not None


def test_keyword_rule_without_a_hit_has_no_opinion():
    assert KeywordRule(keywords=("refund",), priority=Priority.HIGH).classify("hello") is None


def test_keyword_rule_refuses_a_bare_string() -> None:
    with pytest.raises(ValidationError):
        KeywordRule(keywords="refund")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        KeywordRule(keywords=("refund", ""))
