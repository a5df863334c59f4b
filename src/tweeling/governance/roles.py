"""Roles, dataset classifications, actions and the principal a request acts for (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The roles of the twin (see docs/privacy-and-ethics.md)."""

    PUBLIC = "public"
    """Anyone, without logging in: the public twin."""
    RESIDENT = "resident"
    """A logged-in resident or participant: runs and keeps own scenarios."""
    ANALYST = "analyst"
    """A municipal analyst: reads internal, confidential and personal data in detail (audited)."""
    DATA_OWNER = "data_owner"
    """A domain data owner: an analyst who also writes data (sensors, observations, alert rules)."""
    ETHICS = "ethics"
    """A member of the ethics committee: reviews and decides, reads the audit trail."""
    ADMIN = "admin"
    """An administrator: users and roles, model status; cannot approve reviews."""


class Classification(StrEnum):
    """How sensitive a dataset or field is, from least to most (``rank`` orders them)."""

    OPEN = "open"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PERSONAL = "personal"

    @property
    def rank(self) -> int:
        """0 for open … 3 for personal data."""
        return list(Classification).index(self)

    def covers(self, other: Classification) -> bool:
        """Whether a clearance of this level includes data of level ``other``."""
        return self.rank >= other.rank


class Action(StrEnum):
    """What a request does; the policy decides per role, action and classification."""

    AUTHENTICATE = "authenticate"
    """Log in, read one's own identity."""
    READ = "read"
    """Read data or records of a classification in detail."""
    READ_AGGREGATE = "read_aggregate"
    """Read statistics per area: detail for cleared roles, suppressed aggregates for the others."""
    WRITE_DATA = "write_data"
    """Create, change or delete data (sensors, observations, alert rules, layers)."""
    RUN_MODEL = "run_model"
    """Run impact models (scenario processes, jobs) and keep own scenarios."""
    SUBMIT_REVIEW = "submit_review"
    """Ask the ethics committee to review a publication, a model or a sensor."""
    REVIEW = "review"
    """Comment on and decide reviews (committee members only)."""
    READ_AUDIT = "read_audit"
    """Read the audit trail."""
    ADMINISTER = "administer"
    """Manage users, roles, tokens and the status of algorithms."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a subject (user name, or ``anonymous``) with its roles."""

    subject: str
    roles: frozenset[Role]
    token_id: str | None = None
    issuer: str = "tweeling"
    expires_at: float | None = None
    """Expiry of the token, seconds since the epoch (None for anonymous)."""

    @property
    def is_anonymous(self) -> bool:
        """True for the public without a token."""
        return self.token_id is None and self.roles == frozenset({Role.PUBLIC})

    def has(self, role: Role) -> bool:
        """Whether the principal holds ``role``."""
        return role in self.roles

    @property
    def clearance(self) -> Classification:
        """The most sensitive classification this principal may read in detail."""
        from tweeling.governance.policy import clearance_of

        return clearance_of(self.roles)

    def sees_detail(self, classification: Classification) -> bool:
        """Whether data of ``classification`` reaches this principal unaggregated."""
        return self.clearance.covers(classification)


ANONYMOUS = Principal(subject="anonymous", roles=frozenset({Role.PUBLIC}))
"""The public, without logging in."""
