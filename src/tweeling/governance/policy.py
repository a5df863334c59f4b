"""The policy: per role, action and classification, allowed or not (pure, no I/O).

One table, read top to bottom by a reviewer: ``PERMISSIONS[role][action]`` is the most sensitive
classification the role may perform the action on; an action missing for a role is not allowed.
A principal with several roles gets the union. ``READ_AGGREGATE`` is allowed for every role on
every classification: what differs is whether the answer is detailed or suppressed
(:func:`clearance_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tweeling.governance.roles import Action, Classification, Principal, Role

_O, _I, _C, _P = (
    Classification.OPEN,
    Classification.INTERNAL,
    Classification.CONFIDENTIAL,
    Classification.PERSONAL,
)

PERMISSIONS: Mapping[Role, Mapping[Action, Classification]] = {
    Role.PUBLIC: {
        Action.AUTHENTICATE: _O,
        Action.READ: _O,
        Action.READ_AGGREGATE: _P,
    },
    Role.RESIDENT: {
        Action.AUTHENTICATE: _O,
        Action.READ: _O,
        Action.READ_AGGREGATE: _P,
        Action.RUN_MODEL: _O,
        Action.SUBMIT_REVIEW: _O,
    },
    Role.ANALYST: {
        Action.AUTHENTICATE: _O,
        Action.READ: _P,
        Action.READ_AGGREGATE: _P,
        Action.RUN_MODEL: _P,
        Action.SUBMIT_REVIEW: _P,
    },
    Role.DATA_OWNER: {
        Action.AUTHENTICATE: _O,
        Action.READ: _P,
        Action.READ_AGGREGATE: _P,
        Action.RUN_MODEL: _P,
        Action.SUBMIT_REVIEW: _P,
        Action.WRITE_DATA: _P,
    },
    Role.ETHICS: {
        Action.AUTHENTICATE: _O,
        Action.READ: _I,
        Action.READ_AGGREGATE: _P,
        Action.REVIEW: _P,
        Action.READ_AUDIT: _C,
    },
    Role.ADMIN: {
        Action.AUTHENTICATE: _O,
        Action.READ: _P,
        Action.READ_AGGREGATE: _P,
        Action.RUN_MODEL: _P,
        Action.SUBMIT_REVIEW: _P,
        Action.WRITE_DATA: _P,
        Action.READ_AUDIT: _C,
        Action.ADMINISTER: _C,
    },
}
"""Role -> action -> the most sensitive classification allowed. The ethics committee reviews but
does not administer; administrators administer but cannot approve a review (separation of duties)."""

DETAIL_READERS = frozenset({Role.ANALYST, Role.DATA_OWNER, Role.ADMIN})
"""Roles that receive personal and confidential data unaggregated (audited); all others get
aggregates with small-cell suppression."""


@dataclass(frozen=True)
class Decision:
    """The policy's answer: allowed or not, and why (shown in a 403 problem and the audit log)."""

    allowed: bool
    reason: str
    detail: bool = True
    """For allowed reads: whether the data may be served in detail (False: aggregates only)."""


def clearance_of(roles: Iterable[Role]) -> Classification:
    """The most sensitive classification any of ``roles`` may read in detail."""
    ranks = [PERMISSIONS[role][Action.READ] for role in roles if Action.READ in PERMISSIONS[role]]
    return max(ranks, key=lambda c: c.rank, default=Classification.OPEN)


def decide(principal: Principal, action: Action, classification: Classification = _O) -> Decision:
    """Whether ``principal`` may perform ``action`` on data or records of ``classification``."""
    for role in sorted(principal.roles):
        limit = PERMISSIONS.get(role, {}).get(action)
        if limit is not None and limit.covers(classification):
            detail = action is not Action.READ_AGGREGATE or principal.sees_detail(classification)
            return Decision(True, f"{role} may {action} {classification} data", detail=detail)
    roles = ", ".join(sorted(principal.roles)) or "none"
    return Decision(False, f"role(s) {roles} may not {action.replace('_', ' ')} ({classification} data)")
