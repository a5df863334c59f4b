"""Alert rules on sensor data, evaluated on ingest, and the stored alerts and aggregates they use.

A rule watches one Datastream (``datastream_id``) or every Datastream of an ObservedProperty
(``observed_property``, by name). Kinds:

- ``threshold`` on ``statistic = value``: an alert when an observation crosses the threshold
  (the previous observation of that Datastream did not meet the condition, this one does);
- ``threshold`` on ``statistic = hourly_mean``: an alert when the running mean of a clock hour
  (from the rolling aggregates) meets the condition — at most one alert per rule, Datastream
  and hour (e.g. NO2 hourly mean > 200 µg/m³, the EU limit value of directive 2008/50/EC);
- ``rate_of_change``: an alert when the rate of change over the window, in units per hour, starts
  to meet the condition (e.g. a PM2.5 jump). The rate of an observation at time t compares it with
  the latest observation at or before t - ``window_seconds`` (and not older than twice the
  window), so sensor noise between closely spaced readings does not count as a jump.

Alerts are stored in the same transaction as the observations that raised them.
"""

from __future__ import annotations

import bisect
import operator
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.core.times import format_instant
from tweeling.store.base import Store
from tweeling.store.sta_schema import (
    AGGREGATES_TABLE,
    ALERT_RULES_TABLE,
    ALERTS_TABLE,
    DATASTREAMS,
    ENTITY_TYPES,
    OBSERVATIONS,
    OBSERVED_PROPERTIES,
)

if TYPE_CHECKING:
    from tweeling.store.sta_write import ObservationRow, StaWriter


def bucket_start(time: datetime, period: str) -> datetime:
    """Start (UTC) of the aggregation period containing ``time``: the hour (``PT1H``) or the day."""
    time = time.astimezone(UTC)
    if period == "PT1H":
        return time.replace(minute=0, second=0, microsecond=0)
    return time.replace(hour=0, minute=0, second=0, microsecond=0)


Json = dict[str, Any]
Raised = tuple["AlertRule", int, int | None, datetime, float]
"""An alert to store: rule, Datastream id, Observation id (None for an hourly mean), time, value."""

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
KINDS = {"threshold": ("value", "hourly_mean"), "rate_of_change": ("value",)}
SEVERITIES = ("info", "warning", "critical")
RULE_CACHE_SECONDS = 5.0
"""How long rules are reused before they are read again (s); other processes' changes show after this."""

_RULE_COLUMNS = (
    "id",
    "name",
    "datastream_id",
    "observed_property",
    "kind",
    "statistic",
    "operator",
    "threshold",
    "window_seconds",
    "severity",
    "message",
    "created_at",
)


@dataclass(frozen=True)
class AlertRule:
    """A stored alert rule (see the module docstring for the kinds)."""

    id: int
    name: str
    datastream_id: int | None
    observed_property: str | None
    kind: str
    statistic: str
    operator: str
    threshold: float
    window_seconds: int | None
    severity: str
    message: str | None
    created_at: datetime

    def as_json(self) -> Json:
        """JSON form for the API."""
        document = {name: getattr(self, name) for name in _RULE_COLUMNS}
        document["created_at"] = format_instant(self.created_at)
        return document

    def holds(self, value: float) -> bool:
        """Whether ``value`` meets the rule's condition."""
        return OPERATORS[self.operator](value, self.threshold)


def validate_rule(payload: Any) -> Json:
    """Column values of a new rule from its JSON; InvalidInputError naming the field otherwise."""
    if not isinstance(payload, dict):
        raise InvalidInputError("an alert rule must be a JSON object")
    known = set(_RULE_COLUMNS) - {"id", "created_at"}
    unknown = sorted(set(payload) - known)
    if unknown:
        raise InvalidInputError(f"unknown alert-rule field(s) {unknown}; known: {sorted(known)}")
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(
            "alert rule: name is required", invalid_params=[{"name": "name", "reason": "required"}]
        )
    kind = payload.get("kind", "threshold")
    if kind not in KINDS:
        raise InvalidInputError(f"alert rule: kind must be one of {sorted(KINDS)}, got {kind!r}")
    statistic = payload.get("statistic", "value")
    if statistic not in KINDS[kind]:
        raise InvalidInputError(f"alert rule: statistic of a {kind} rule must be one of {list(KINDS[kind])}")
    comparison = payload.get("operator", ">")
    if comparison not in OPERATORS:
        raise InvalidInputError(
            f"alert rule: operator must be one of {sorted(OPERATORS)}, got {comparison!r}"
        )
    threshold = payload.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise InvalidInputError(
            "alert rule: threshold must be a number",
            invalid_params=[{"name": "threshold", "reason": "not a number"}],
        )
    datastream_id = payload.get("datastream_id")
    observed_property = payload.get("observed_property")
    if (datastream_id is None) == (observed_property is None):
        raise InvalidInputError("alert rule: give exactly one of datastream_id and observed_property")
    if datastream_id is not None and (isinstance(datastream_id, bool) or not isinstance(datastream_id, int)):
        raise InvalidInputError("alert rule: datastream_id must be an integer")
    if observed_property is not None and not isinstance(observed_property, str):
        raise InvalidInputError("alert rule: observed_property must be the ObservedProperty's name")
    window = payload.get("window_seconds")
    if kind == "rate_of_change" and (isinstance(window, bool) or not isinstance(window, int) or window <= 0):
        raise InvalidInputError("alert rule: a rate_of_change rule needs window_seconds > 0 (an integer)")
    severity = payload.get("severity", "warning")
    if severity not in SEVERITIES:
        raise InvalidInputError(f"alert rule: severity must be one of {list(SEVERITIES)}")
    message = payload.get("message")
    if message is not None and not isinstance(message, str):
        raise InvalidInputError("alert rule: message must be a string")
    return {
        "name": name.strip(),
        "datastream_id": datastream_id,
        "observed_property": observed_property,
        "kind": kind,
        "statistic": statistic,
        "operator": comparison,
        "threshold": float(threshold),
        "window_seconds": window,
        "severity": severity,
        "message": message,
    }


class AlertStore:
    """Alert rules and alerts in a store, with the evaluation of rules against new observations."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._rules: list[AlertRule] = []
        self._rules_read = -1e9
        self._property_of: dict[int, str] = {}
        self._exceeding: dict[tuple[int, int], bool] = {}

    # -- rules -------------------------------------------------------------------------
    def create_rule(self, payload: Any) -> AlertRule:
        """Store a new rule (checked: a datastream_id must exist)."""
        values = validate_rule(payload)
        ph = self.store.placeholder
        if values["datastream_id"] is not None:
            found = self.store._fetchall(
                f"SELECT 1 FROM {ENTITY_TYPES[DATASTREAMS].table} WHERE id = {ph(1)}",
                [values["datastream_id"]],
            )
            if not found:
                raise InvalidInputError(f"alert rule: no Datastream with @iot.id {values['datastream_id']}")
        values["created_at"] = datetime.now(UTC)
        with self.store.transaction():
            new_id = self.store.next_ids(f"{ALERT_RULES_TABLE}_id_seq", 1)[0]
            self.store._execute(
                f"INSERT INTO {ALERT_RULES_TABLE} (id, {', '.join(values)}) VALUES ({ph(len(values) + 1)})",
                [new_id, *values.values()],
            )
        self._rules_read = -1e9
        return self.rule(new_id)

    def rules(self, store: Store | None = None) -> list[AlertRule]:
        """All rules, oldest first."""
        rows = (store or self.store)._fetchall(
            f"SELECT {', '.join(_RULE_COLUMNS)} FROM {ALERT_RULES_TABLE} ORDER BY id"
        )
        return [AlertRule(*row) for row in rows]

    def rule(self, rule_id: int, store: Store | None = None) -> AlertRule:
        """One rule; NotFoundError if there is none."""
        for rule in self.rules(store):
            if rule.id == rule_id:
                return rule
        raise NotFoundError(f"no alert rule with id {rule_id}")

    def delete_rule(self, rule_id: int) -> None:
        """Remove a rule (its past alerts stay)."""
        self.rule(rule_id)
        with self.store.transaction():
            self.store._execute(
                f"DELETE FROM {ALERT_RULES_TABLE} WHERE id = {self.store.placeholder(1)}", [rule_id]
            )
        self._rules_read = -1e9

    # -- alerts ------------------------------------------------------------------------
    def list_alerts(
        self, store: Store, *, datastream_id: int | None, since: datetime | None, limit: int
    ) -> list[Json]:
        """Stored alerts, newest first."""
        where: list[str] = []
        params: list[Any] = []
        if datastream_id is not None:
            where.append(f"datastream_id = {store.placeholder(1)}")
            params.append(datastream_id)
        if since is not None:
            where.append(f"phenomenon_time >= {store.placeholder(1)}")
            params.append(since)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = store._fetchall(
            "SELECT id, rule_id, datastream_id, observation_id, phenomenon_time, value, severity, message, "
            f"created_at FROM {ALERTS_TABLE}{clause} "
            f"ORDER BY phenomenon_time DESC, id DESC LIMIT {int(limit)}",
            params,
        )
        return [_alert_json(row) for row in rows]

    def aggregate_rows(
        self, store: Store, datastream_id: int, period: str, start: datetime | None, end: datetime | None
    ) -> list[tuple[datetime, int, float, float, float]]:
        """``(period start, count, total, min, max)`` of a Datastream's aggregates in ``[start, end)``."""
        ph = store.placeholder(1)
        where = [f"datastream_id = {ph}", f"period = {ph}"]
        params: list[Any] = [datastream_id, period]
        if start is not None:
            where.append(f"period_start >= {ph}")
            params.append(start)
        if end is not None:
            where.append(f"period_start < {ph}")
            params.append(end)
        rows = store._fetchall(
            f"SELECT period_start, count, total, minimum, maximum FROM {AGGREGATES_TABLE} "
            f"WHERE {' AND '.join(where)} ORDER BY period_start",
            params,
        )
        return [(r[0], int(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows]

    # -- evaluation --------------------------------------------------------------------
    def _current_rules(self, store: Store) -> list[AlertRule]:
        with self._lock:
            if time.monotonic() - self._rules_read > RULE_CACHE_SECONDS:
                self._rules = self.rules(store)
                self._rules_read = time.monotonic()
            return self._rules

    def _observed_property(self, store: Store, datastream_id: int) -> str:
        name = self._property_of.get(datastream_id)
        if name is None:
            rows = store._fetchall(
                f"SELECT p.name FROM {ENTITY_TYPES[DATASTREAMS].table} d JOIN "
                f"{ENTITY_TYPES[OBSERVED_PROPERTIES].table} p ON p.id = d.observed_property_id "
                f"WHERE d.id = {store.placeholder(1)}",
                [datastream_id],
            )
            name = str(rows[0][0]) if rows else ""
            self._property_of[datastream_id] = name
        return name

    def evaluate(self, writer: StaWriter, stored: Sequence[tuple[int, ObservationRow]]) -> list[Json]:
        """Check the rules against newly stored observations; store and return the alerts raised."""
        store = writer.store
        rules = self._current_rules(store)
        if not rules or not stored:
            return []
        by_stream: dict[int, list[tuple[int, ObservationRow]]] = {}
        for observation_id, row in stored:
            if row.result_number is not None:
                by_stream.setdefault(row.datastream_id, []).append((observation_id, row))
        raised: list[Raised] = []
        hourly: list[tuple[AlertRule, int, set[datetime]]] = []
        rates: list[tuple[AlertRule, int, list[tuple[int, ObservationRow]]]] = []
        for datastream_id, observations in by_stream.items():
            observations.sort(key=lambda item: item[1].phenomenon_time_start)
            applicable = [
                r
                for r in rules
                if r.datastream_id == datastream_id
                or (
                    r.observed_property is not None
                    and r.observed_property == self._observed_property(store, datastream_id)
                )
            ]
            for rule in applicable:
                if rule.kind == "threshold" and rule.statistic == "value":
                    raised += self._crossings(rule, datastream_id, observations)
                elif rule.kind == "threshold":
                    hours = {bucket_start(row.phenomenon_time_start, "PT1H") for _, row in observations}
                    hourly.append((rule, datastream_id, hours))
                else:
                    rates.append((rule, datastream_id, observations))
        if hourly:
            raised += self._hourly_means(store, hourly)
        if rates:
            raised += self._rates(store, rates)
        return self._store_alerts(writer, raised)

    def _crossings(
        self, rule: AlertRule, datastream_id: int, observations: list[tuple[int, ObservationRow]]
    ) -> list[Raised]:
        raised: list[Raised] = []
        key = (rule.id, datastream_id)
        for observation_id, row in observations:
            value = float(row.result_number)  # type: ignore[arg-type]
            exceeding = rule.holds(value)
            if exceeding and not self._exceeding.get(key, False):
                raised.append((rule, datastream_id, observation_id, row.phenomenon_time_start, value))
            self._exceeding[key] = exceeding
        return raised

    def _hourly_means(
        self, store: Store, candidates: list[tuple[AlertRule, int, set[datetime]]]
    ) -> list[Raised]:
        """Hourly-mean rules for the (Datastream, hour) pairs a batch touched: two queries in all."""
        streams = sorted({datastream_id for _, datastream_id, _ in candidates})
        first = min(min(hours) for _, _, hours in candidates)
        last = max(max(hours) for _, _, hours in candidates)
        ph = store.placeholder
        means = {
            (int(ds), start): float(total) / int(count)
            for ds, start, count, total in store._fetchall(
                f"SELECT datastream_id, period_start, count, total FROM {AGGREGATES_TABLE} "
                f"WHERE period = 'PT1H' AND datastream_id IN ({ph(len(streams))}) "
                f"AND period_start >= {ph(1)} AND period_start <= {ph(1)}",
                [*streams, first, last],
            )
        }
        rule_ids = sorted({rule.id for rule, _, _ in candidates})
        alerted = {
            (int(rule_id), int(ds), when)
            for rule_id, ds, when in store._fetchall(
                f"SELECT rule_id, datastream_id, phenomenon_time FROM {ALERTS_TABLE} "
                f"WHERE rule_id IN ({ph(len(rule_ids))}) AND phenomenon_time >= {ph(1)} "
                f"AND phenomenon_time <= {ph(1)}",
                [*rule_ids, first, last],
            )
        }
        raised: list[Raised] = []
        for rule, datastream_id, hours in candidates:
            for hour in sorted(hours):
                mean = means.get((datastream_id, hour))
                if mean is not None and rule.holds(mean) and (rule.id, datastream_id, hour) not in alerted:
                    raised.append((rule, datastream_id, None, hour, mean))
        return raised

    def _rates(
        self, store: Store, candidates: list[tuple[AlertRule, int, list[tuple[int, ObservationRow]]]]
    ) -> list[Raised]:
        """Rate-of-change rules for the Datastreams a batch touched, with one query for their history."""
        longest = max(timedelta(seconds=rule.window_seconds or 0) for rule, _, _ in candidates)
        firsts = {ds: observations[0][1].phenomenon_time_start for _, ds, observations in candidates}
        streams = sorted(firsts)
        ph = store.placeholder
        history: dict[int, list[tuple[datetime, float]]] = {ds: [] for ds in streams}
        for ds, when, value in store._fetchall(
            "SELECT datastream_id, phenomenon_time_start, result_number "
            f"FROM {ENTITY_TYPES[OBSERVATIONS].table} WHERE datastream_id IN ({ph(len(streams))}) "
            f"AND phenomenon_time_start >= {ph(1)} AND phenomenon_time_start < {ph(1)} "
            "AND result_number IS NOT NULL ORDER BY phenomenon_time_start",
            [*streams, min(firsts.values()) - 2 * longest, max(firsts.values())],
        ):
            if when < firsts[int(ds)]:  # the batch's own rows are stored already: leave them out here
                history[int(ds)].append((when, float(value)))
        raised: list[Raised] = []
        for rule, datastream_id, observations in candidates:
            window = timedelta(seconds=rule.window_seconds or 0)
            series = history[datastream_id] + [
                (row.phenomenon_time_start, float(row.result_number or 0.0)) for _, row in observations
            ]
            times = [when for when, _ in series]
            key = (rule.id, datastream_id)
            for observation_id, row in observations:
                when, value = row.phenomenon_time_start, float(row.result_number or 0.0)
                reference = bisect.bisect_right(times, when - window) - 1
                if reference < 0 or series[reference][0] < when - 2 * window:
                    continue
                then, before = series[reference]
                seconds = (when - then).total_seconds()
                if seconds <= 0:
                    continue
                rate = (value - before) / seconds * 3600.0
                meeting = rule.holds(rate)
                if meeting and not self._exceeding.get(key, False):
                    raised.append((rule, datastream_id, observation_id, when, rate))
                self._exceeding[key] = meeting
        return raised

    def _store_alerts(self, writer: StaWriter, raised: list[Raised]) -> list[Json]:
        if not raised:
            return []
        store = writer.store
        ids = store.next_ids(f"{ALERTS_TABLE}_id_seq", len(raised))
        documents = []
        for alert_id, (rule, datastream_id, observation_id, when, value) in zip(ids, raised, strict=True):
            message = (
                rule.message
                or f"{rule.name}: {rule.statistic} {value:.1f} {rule.operator} {rule.threshold:g}"
            )
            row = (
                alert_id,
                rule.id,
                datastream_id,
                observation_id,
                when,
                value,
                rule.severity,
                message,
                writer.now,
            )
            store._execute(
                f"INSERT INTO {ALERTS_TABLE} "
                "(id, rule_id, datastream_id, observation_id, phenomenon_time, value, "
                f"severity, message, created_at) VALUES ({store.placeholder(9)})",
                list(row),
            )
            documents.append(_alert_json(row))
        return documents


def _alert_json(row: Sequence[Any]) -> Json:
    alert_id, rule_id, datastream_id, observation_id, when, value, severity, message, created = row
    return {
        "id": int(alert_id),
        "rule_id": int(rule_id),
        "datastream_id": int(datastream_id),
        "observation_id": None if observation_id is None else int(observation_id),
        "phenomenonTime": format_instant(when),
        "value": float(value),
        "severity": severity,
        "message": message,
        "created_at": format_instant(created),
    }


__all__ = ["AlertRule", "AlertStore", "validate_rule"]
