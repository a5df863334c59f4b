"""The algorithm register: an Algoritmeregister 1.0.0 entry for every model, with its status.

Entries come from *sources*: callables that give ``{model id: register fields}``. The impact
models of the registry are the first source (their :class:`AlgorithmRegisterEntry`); other kinds of
models (the predictive models) add theirs with :meth:`AlgorithmRegister.add_source`.

The status of each model is not in the code but in a record per model
(``<data_dir>/algorithm-register/<model id>/record.json``) with its history: who changed it, when,
and on the strength of which ethics review. A model whose entry misses required fields, or fails
the JSON Schema of the standard (``schemas/algoritmeregister-1.0.0.schema.json``), cannot change
status (except to "Buiten gebruik": taking a model out of use is never blocked); "In gebruik"
also needs an approved ``model-in-use`` review of that model, which the register asks
:attr:`AlgorithmRegister.approved_review` about.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from tweeling.core.errors import ConflictError, InvalidInputError, NotFoundError
from tweeling.governance.audit import AuditLog
from tweeling.governance.roles import Principal
from tweeling.scenarios.registry import Registry
from tweeling.store.documents import DocumentStore

SCHEMA_FILE = "algoritmeregister-1.0.0.schema.json"

IN_DEVELOPMENT, IN_USE, OUT_OF_USE = "In ontwikkeling", "In gebruik", "Buiten gebruik"
STATUSES = (IN_DEVELOPMENT, IN_USE, OUT_OF_USE)
"""The statuses of the standard; a model without a record is "In ontwikkeling"."""

REVIEW_KIND = "model-in-use"
"""The kind of ethics review that must approve a model before it is "In gebruik"."""

ApprovalCheck = Callable[[str, str, str], bool]
"""``(review_id, kind, subject) -> bool``: whether that review is approved for that subject."""

EntrySource = Callable[[], Mapping[str, Mapping[str, Any]]]
"""Register fields per model id, from one kind of model."""


def _no_approvals(review_id: str, kind: str, subject: str) -> bool:
    """Until the review service is connected, no review counts as approved."""
    return False


@cache
def register_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the export: a list of Algoritmeregister 1.0.0 entries."""
    text = resources.files("tweeling.governance").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def standard_fields() -> tuple[str, ...]:
    """The fields of one entry, in the order of the standard (general, responsible use, operation,
    metadata)."""
    return tuple(register_schema()["$defs"]["algorithm"]["properties"])


def required_fields() -> tuple[str, ...]:
    """The fields every entry must fill."""
    return tuple(register_schema()["$defs"]["algorithm"]["required"])


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(register_schema(), format_checker=FormatChecker())


@dataclass(frozen=True)
class EntryProblem:
    """A field of one entry that does not meet the standard, in words."""

    model_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.model_id}: {self.field}: {self.message}"


_PATTERN_HINTS = {"start_date": "a month as YYYY-MM", "end_date": "a month as YYYY-MM"}
_REQUIRED = re.compile(r"^'([^']+)' is a required property")


def _problem(model_id: str, error: ValidationError) -> EntryProblem:
    """One schema error as the field it concerns and what to do about it."""
    path = [part for part in error.path if isinstance(part, str)]
    field = path[0] if path else ""
    value = error.instance
    kind, limit = error.validator, error.validator_value
    if kind == "required":
        found = _REQUIRED.match(error.message)
        field = found.group(1) if found else field
        message = "missing; the standard requires it"
    elif kind == "additionalProperties":
        extra = sorted(set(value) - set(standard_fields())) if isinstance(value, dict) else []
        field, message = ", ".join(extra), "not a field of the standard"
    elif kind == "minLength":
        message = "empty; the standard requires it"
    elif kind == "maxLength":
        message = f"too long: {len(value)} characters; the standard allows fewer than {int(limit) + 1}"
    elif kind == "enum":
        message = f"{value!r} is not one of: {', '.join(limit)}"
    elif kind == "const":
        message = f"must be {limit!r}, not {value!r}"
    elif kind == "pattern":
        message = f"{value!r} is not {_PATTERN_HINTS.get(field, 'a URL starting with https://')}"
    elif kind == "anyOf" and field == "contact":
        message = f"{value!r} is not an e-mail address or a web page starting with https://"
    elif kind == "type":
        message = f"must be {limit}, not {type(value).__name__}"
    else:
        message = error.message
    return EntryProblem(model_id, field or "(entry)", message)


def check_entry(model_id: str, fields: Mapping[str, Any]) -> list[EntryProblem]:
    """Every way ``fields`` fails the standard's schema, in the order of the standard's fields
    (empty when the entry is complete)."""
    order = {name: index for index, name in enumerate(standard_fields())}
    problems = dict.fromkeys(_problem(model_id, error) for error in _validator().iter_errors([dict(fields)]))
    return sorted(problems, key=lambda problem: order.get(problem.field, len(order)))


@dataclass(frozen=True)
class StatusChange:
    """One change of a model's status: what, when (UTC, ISO 8601), by whom, on which review."""

    status: str
    at: str
    actor: str
    roles: tuple[str, ...]
    review_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """The full change, as stored (the actor's user name included)."""
        return {
            "status": self.status,
            "at": self.at,
            "actor": self.actor,
            "roles": list(self.roles),
            "review_id": self.review_id,
        }

    def public(self) -> dict[str, Any]:
        """The change as the public sees it: the roles that made it (not the everyone-role
        ``public``), not the person."""
        roles = [role for role in self.roles if role != "public"] or list(self.roles)
        return {"status": self.status, "at": self.at, "by": roles, "review_id": self.review_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatusChange:
        """A change read back from its record."""
        return cls(
            str(data["status"]),
            str(data["at"]),
            str(data.get("actor", "")),
            tuple(str(role) for role in data.get("roles", ())),
            data.get("review_id"),
        )


@dataclass(frozen=True)
class RegisterEntry:
    """One model in the register: its standard fields (status filled in), history and problems."""

    model_id: str
    source: str
    """What kind of model gave the entry (``impact-model``, ...)."""
    fields: Mapping[str, str]
    """Only the fields of the standard, empty optional ones left out."""
    history: tuple[StatusChange, ...]
    problems: tuple[EntryProblem, ...]

    @property
    def status(self) -> str:
        """The current status."""
        return self.fields.get("status", IN_DEVELOPMENT)

    @property
    def complete(self) -> bool:
        """Whether the entry meets the standard."""
        return not self.problems


def impact_model_entries(registry: Registry) -> EntrySource:
    """The source of the registry's impact models: their declared register entries."""

    def entries() -> dict[str, Mapping[str, Any]]:
        return {model_id: model.info.register.as_dict() for model_id, model in registry.models.items()}

    return entries


def _month(timestamp: str) -> str:
    return timestamp[:7]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class AlgorithmRegister:
    """Entries of the Algoritmeregister publicatiestandaard 1.0.0 for every model, with their status.

    ``register_url`` is where the twin serves the register (``https://.../v1/algorithms``): each
    entry's ``source_link`` points there. ``audit`` records every status change and every refused
    attempt (action ``algorithm-status``). Set :attr:`approved_review` to the review service's
    check once both exist; until then nothing can be put "In gebruik".
    """

    def __init__(
        self,
        root: Path,
        registry: Registry,
        *,
        audit: AuditLog | None = None,
        register_url: str = "",
    ) -> None:
        self.root = root
        self.registry = registry
        self.audit = audit
        self.register_url = register_url.rstrip("/")
        self.records = DocumentStore(root, "algorithm-register")
        self.approved_review: ApprovalCheck = _no_approvals
        self._sources: list[tuple[str, EntrySource]] = [("impact-model", impact_model_entries(registry))]

    def add_source(self, name: str, source: EntrySource) -> None:
        """Add entries of another kind of model (``name``, e.g. ``predictive-model``)."""
        self._sources.append((name, source))

    # -- reading -------------------------------------------------------------------------
    def _declared(self) -> dict[str, tuple[str, Mapping[str, Any]]]:
        found: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for name, source in self._sources:
            for model_id, fields in source().items():
                found.setdefault(model_id, (name, fields))
        return found

    def ids(self) -> list[str]:
        """The ids of every model in the register, in the order of their sources."""
        return list(self._declared())

    def history(self, model_id: str) -> tuple[StatusChange, ...]:
        """The status changes of a model, oldest first (none: it is still "In ontwikkeling")."""
        try:
            record = self.records.record(model_id)
        except (NotFoundError, InvalidInputError):  # no record yet, or an id the store cannot hold
            return ()
        return tuple(StatusChange.from_dict(change) for change in record.get("history", []))

    def _build(self, model_id: str, source: str, declared: Mapping[str, Any]) -> RegisterEntry:
        history = self.history(model_id)
        allowed = set(standard_fields())
        fields = {key: value for key, value in declared.items() if key in allowed and value not in ("", None)}
        fields["status"] = history[-1].status if history else IN_DEVELOPMENT
        in_use = [change for change in history if change.status == IN_USE]
        if in_use:
            fields["start_date"] = _month(in_use[-1].at)
        if history and history[-1].status == OUT_OF_USE:
            fields["end_date"] = _month(history[-1].at)
        else:
            fields.pop("end_date", None)
        if self.register_url and "source_link" not in fields:
            fields["source_link"] = f"{self.register_url}/{model_id}"
        fields.setdefault("source_id", model_id)
        ordered = {key: fields[key] for key in standard_fields() if key in fields}
        problems = check_entry(model_id, ordered)
        return RegisterEntry(model_id, source, ordered, history, tuple(problems))

    def entries(self) -> list[RegisterEntry]:
        """Every model's entry with its current status."""
        return [
            self._build(model_id, source, fields) for model_id, (source, fields) in self._declared().items()
        ]

    def entry(self, model_id: str) -> RegisterEntry:
        """One model's entry; NotFoundError names the models there are."""
        declared = self._declared()
        if model_id not in declared:
            raise NotFoundError(
                f"no algorithm {model_id!r} in the register; there are: {', '.join(declared)}"
            )
        source, fields = declared[model_id]
        return self._build(model_id, source, fields)

    def problems(self) -> list[EntryProblem]:
        """Every field of every entry that does not meet the standard."""
        return [problem for entry in self.entries() for problem in entry.problems]

    def export(self) -> list[dict[str, str]]:
        """All entries as the standard defines them, validated against the schema.

        InvalidInputError names the model and field of the first problem (all of them in
        ``invalid_params``) when any entry fails.
        """
        entries = self.entries()
        problems = [problem for entry in entries for problem in entry.problems]
        if problems:
            raise InvalidInputError(
                f"the algorithm register does not meet the standard: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                invalid_params=[{"name": f"{p.model_id}.{p.field}", "reason": p.message} for p in problems],
            )
        return [dict(entry.fields) for entry in entries]

    # -- changing the status ------------------------------------------------------------
    def set_status(
        self, model_id: str, status: str, *, actor: Principal, review_id: str | None = None
    ) -> RegisterEntry:
        """Change a model's status and record who did it and on which review.

        InvalidInputError for a status the standard does not know; NotFoundError for an unknown
        model; ConflictError when the entry is incomplete (unless the model is taken out of use)
        or, for "In gebruik", when ``review_id`` is not an approved ``model-in-use`` review of it.
        Every change and every refusal is audited (``algorithm-status``).
        """
        if status not in STATUSES:
            raise InvalidInputError(
                f"status {status!r} is not one of: {', '.join(STATUSES)}",
                invalid_params=[{"name": "status", "reason": f"one of {', '.join(STATUSES)}"}],
            )
        entry = self.entry(model_id)
        refusal = self._refusal(entry, status, review_id)
        if refusal is not None:
            self._audit(actor, model_id, status, review_id, "refused", refusal)
            raise ConflictError(refusal)
        change = StatusChange(status, _now(), actor.subject, tuple(sorted(actor.roles)), review_id)
        history = [*entry.history, change]
        record = {"model_id": model_id, "status": status, "history": [c.as_dict() for c in history]}
        self.records.put_record(model_id, record)
        self._audit(actor, model_id, status, review_id, "ok", f"{entry.status} -> {status}")
        return self.entry(model_id)

    def _refusal(self, entry: RegisterEntry, status: str, review_id: str | None) -> str | None:
        if status == OUT_OF_USE:
            return None
        if entry.problems:
            listed = "; ".join(f"{p.field}: {p.message}" for p in entry.problems)
            return (
                f"the register entry of {entry.model_id!r} does not meet the standard, so its status "
                f"cannot become {status!r}: {listed}"
            )
        if status == IN_USE:
            if not review_id:
                return (
                    f"{entry.model_id!r} can only be put {IN_USE!r} with an approved ethics review: "
                    f"submit a {REVIEW_KIND!r} review of it and give its review_id once approved"
                )
            if not self.approved_review(review_id, REVIEW_KIND, entry.model_id):
                return (
                    f"review {review_id!r} is not an approved {REVIEW_KIND!r} review of "
                    f"{entry.model_id!r}; the model stays {entry.status!r}"
                )
        return None

    def _audit(
        self, actor: Principal, model_id: str, status: str, review_id: str | None, outcome: str, reason: str
    ) -> None:
        if self.audit is None:
            return
        self.audit.append(
            actor=actor.subject,
            roles=sorted(actor.roles),
            action="algorithm-status",
            target=f"algorithm {model_id}",
            outcome=outcome,
            details={"status": status, "review_id": review_id, "reason": reason},
        )
