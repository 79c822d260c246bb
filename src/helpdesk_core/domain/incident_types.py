"""Incident types: a category → subcategory tree (``complaint/damaged-in-transit``).

SLA policies, templates and responsibility attach to a node and are inherited by its children,
so the tree answers "which node, or which ancestor, defines X".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import attrs

from helpdesk_core.domain.typecheck import check_fields
from helpdesk_core.domain.values import name_line
from helpdesk_core.errors import ValidationError

__all__ = ["IncidentType", "IncidentTypeTree"]

_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}(/[a-z0-9][a-z0-9_-]{0,39}){0,3}")


@attrs.frozen
class IncidentType:
    """A node of the tree. The key is the path: ``complaint`` or ``complaint/damaged``."""

    key: str
    name: str = attrs.field(converter=name_line)
    responsible: str | None = None
    team: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise ValidationError(
                "must be up to four /-separated lower-case segments", field="incident_type"
            )
        check_fields(self, prefix="incident_type")

    @property
    def parent_key(self) -> str | None:
        head, sep, _ = self.key.rpartition("/")
        return head if sep else None

    @property
    def depth(self) -> int:
        return self.key.count("/")


@attrs.frozen
class IncidentTypeTree:
    nodes: dict[str, IncidentType] = attrs.field(factory=dict)

    @classmethod
    def of(cls, types: Iterable[IncidentType]) -> IncidentTypeTree:
        nodes = {t.key: t for t in types}
        for node in nodes.values():
            if node.parent_key is not None and node.parent_key not in nodes:
                raise ValidationError(
                    f"{node.key!r} has no parent {node.parent_key!r}", field="incident_type"
                )
        return cls(nodes)

    def __contains__(self, key: object) -> bool:
        return key in self.nodes

    def get(self, key: str) -> IncidentType:
        try:
            return self.nodes[key]
        except KeyError:
            raise ValidationError(f"unknown incident type {key!r}", field="incident_type") from None

    def lineage(self, key: str) -> Iterator[IncidentType]:
        """The node and its ancestors, nearest first: where inherited settings are looked up."""
        current: str | None = self.get(key).key
        while current is not None:
            node = self.nodes[current]
            yield node
            current = node.parent_key

    def children(self, key: str | None) -> list[IncidentType]:
        return sorted(
            (n for n in self.nodes.values() if n.parent_key == key), key=lambda n: n.key
        )

    def responsible_for(self, key: str) -> tuple[str | None, str | None]:
        """(person, team) responsible for ``key``, inherited from the nearest ancestor."""
        person = team = None
        for node in self.lineage(key):
            person = person or node.responsible
            team = team or node.team
        return person, team
