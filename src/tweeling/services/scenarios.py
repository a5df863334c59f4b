"""Scenario service: parse, store, run and compare scenarios; the one layer the API and CLI call.

The baseline city is read from the store once per process and the engine caches the baseline
model results, so a scenario run recomputes only what its interventions touch. Scenarios are
stored as versioned documents (author, timestamps) beside the store; a failed run never changes
a stored scenario.

Ownership and publication: the ``author`` of a stored scenario is the account that created it (the
API sets it from the caller, never from the body) and stays with every later version. The public
sees a scenario only at the versions the ethics committee approved for publication
(:meth:`ScenarioService.publish`, kept in ``<data_dir>/publications``); residents see their own
scenarios and the published ones; analysts, data owners, administrators and the ethics committee
see all. Only the author, or an administrator, may change or delete a scenario.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from tweeling.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from tweeling.core.times import now_stamp
from tweeling.governance.roles import Principal, Role
from tweeling.scenarios.apply import AppliedScenario, apply_interventions
from tweeling.scenarios.city import CityState, city_from_layers
from tweeling.scenarios.engine import Comparison, Engine, Evaluation
from tweeling.scenarios.interventions import Scenario
from tweeling.scenarios.model import ImpactModel
from tweeling.scenarios.registry import Registry, load_registry
from tweeling.services.settings import Settings
from tweeling.store import open_store
from tweeling.store.documents import DocumentStore, check_document_id

SCENARIO_READERS = frozenset({Role.ANALYST, Role.DATA_OWNER, Role.ADMIN, Role.ETHICS})
"""Roles that see every stored scenario and job (the committee reads what it reviews)."""

PublicationRunner = Callable[[str, int, str], dict[str, Any]]
"""Starts a public run of a published scenario version ``(scenario id, version, owner)``; returns the
job record (registered by the job manager)."""


def reads_all_scenarios(principal: Principal) -> bool:
    """Whether ``principal`` sees every stored scenario and job, not only own and published ones."""
    return bool(principal.roles & SCENARIO_READERS)


def owns(principal: Principal, owner: str | None) -> bool:
    """Whether ``principal`` is the logged-in account ``owner``."""
    return not principal.is_anonymous and owner is not None and principal.subject == owner


def may_change(principal: Principal, owner: str | None) -> bool:
    """Whether ``principal`` may change or delete what ``owner`` made (the owner, or an administrator)."""
    return principal.has(Role.ADMIN) or owns(principal, owner)


CITY_LAYERS = ("buurten", "buildings", "roads", "road_nodes", "facilities", "green", "water", "weather")


def load_city(store_url: str, year: int = 2021) -> CityState:
    """The baseline city state from the twin's store."""
    with open_store(store_url, read_only=True) as store:
        missing = [name for name in CITY_LAYERS if not store.has_layer(name)]
        if missing:
            names = ", ".join(missing)
            raise NotFoundError(
                f"the store has no layer(s) {names}: run `tweeling demo` or `tweeling import` first"
            )
        return city_from_layers({name: store.read_layer(name) for name in CITY_LAYERS}, year)


def describe_model(model: ImpactModel) -> dict[str, Any]:
    """A model's metadata as JSON-ready data: indicators, parameters, method, register entry."""
    info = model.info
    return {
        "id": info.id,
        "version": info.version,
        "title": info.title,
        "description": info.description,
        "requires": list(info.requires),
        "reads": sorted(info.reads),
        "indicators": [dataclasses.asdict(indicator) for indicator in info.indicators],
        "parameters": [dataclasses.asdict(parameter) for parameter in model.parameters()],
        "method": info.method,
        "sources": list(info.sources),
        "limitations": list(info.limitations),
        "algorithm_register": info.register.as_dict(),
    }


def validation_problem(error: ValidationError, prefix: str = "") -> InvalidInputError:
    """A pydantic validation error as one InvalidInputError naming every field."""
    params = []
    for item in error.errors():
        location = prefix + ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in item["loc"]
        ).replace(".[", "[")
        params.append({"name": location or "scenario", "reason": item["msg"]})
    first = params[0]
    message = f"invalid scenario: {first['name']}: {first['reason']}"
    if len(params) > 1:
        message += f" (and {len(params) - 1} more problem(s))"
    return InvalidInputError(message, invalid_params=params)


def parse_scenario(document: Mapping[str, Any] | str | bytes) -> Scenario:
    """A scenario from a mapping or JSON/YAML text; InvalidInputError naming the field on failure."""
    if isinstance(document, (str, bytes)):
        try:
            document = yaml.safe_load(document)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise InvalidInputError(f"the scenario is not valid YAML or JSON{where}") from None
    if not isinstance(document, Mapping):
        raise InvalidInputError("a scenario is a mapping with name, baseline and interventions")
    try:
        return Scenario.model_validate(dict(document))
    except ValidationError as error:
        raise validation_problem(error) from None


HEADLINES = {
    "traffic": "vehicle_km_day",
    "air": "no2_ugm3",
    "noise": "dwellings_above_55db",
    "heat": "dwellings_pet_above_41",
    "proximity": "share_within_1000m_gp",
    "demography": "share_65_plus",
    "care": "nursing_home_shortfall",
    "liveability": "liveability_score",
}
"""The indicator that stands for each domain in the effects table (else the domain's first one)."""

SUMMARY_ROWS_PER_DOMAIN = 4


def _number(value: float, *, signed: bool = False) -> str:
    """A number as a report shows it: thousands separated, about three significant digits."""
    sign = "+" if signed else ""
    size = abs(value)
    if size >= 100:
        return f"{value:{sign},.0f}"
    if size >= 1:
        return f"{value:{sign},.2f}".rstrip("0").rstrip(".")
    return f"{value:{sign}.2g}"


def _name(names: pd.Series | None, code: str) -> str:
    if names is None or code not in names.index or pd.isna(names[code]):
        return ""
    return f" {names[code]}"


def _label(index: int, item: Any) -> str:
    return f"{index}: {item.type} '{item.name}'"


@dataclass
class ScenarioRun:
    """A scenario run: the changed city, all model results, the comparison and the effects table.

    ``effects``: one row per intervention (and "all interventions"), one column per domain, the
    change of that domain's headline indicator (first citywide indicator of the domain).
    """

    scenario: Scenario
    applied: AppliedScenario
    evaluation: Evaluation
    comparison: Comparison
    effects: pd.DataFrame
    headlines: dict[str, tuple[str, str]]
    seconds: float

    def summary(self) -> str:
        """A short text summary for a report: interventions, headline effects, what ran."""
        lines = [f"Scenario: {self.scenario.name}", f"Baseline: Dordrecht {self.scenario.baseline.year}"]
        if self.scenario.description:
            lines.append(self.scenario.description.strip())
        lines.append("")
        lines.append("Interventions:")
        lines += [f"  {_label(i, item)}" for i, item in enumerate(self.scenario.interventions)] or [
            "  (none)"
        ]
        lines.append("")
        lines.append("Effects, citywide (baseline -> scenario, difference):")
        city = self.comparison.city
        changed = city[city["difference"].abs() > 1e-9]
        records = city.to_dict("index")
        for domain, (headline, _) in self.headlines.items():
            rows = changed[changed["domain"] == domain]
            if rows.empty:
                lines.append(f"  {domain:<12} no change")
                continue
            ordered = [headline] if headline in rows.index else []
            ordered += [name for name in rows.index if name != headline][
                : SUMMARY_ROWS_PER_DOMAIN - len(ordered)
            ]
            for number, name in enumerate(ordered):
                label = domain if number == 0 else ""
                row = records[name]
                before, after = float(row["baseline"]), float(row["scenario"])
                lines.append(
                    f"  {label:<12} {row['title']}: {_number(before)} -> {_number(after)}"
                    f" {row['unit']} ({_number(after - before, signed=True)})"
                )
        buurt = self.comparison.buurt
        names = self.applied.city.buurten.get("bu_naam")
        lines.append("")
        lines.append("Largest changes per buurt:")
        for domain, (indicator_id, unit) in self.headlines.items():
            column = f"{indicator_id}_difference"
            if column not in buurt.columns:
                continue
            changes = buurt[column].dropna()
            changes = changes[changes.abs() > 1e-9]
            if changes.empty:
                continue
            top = changes.abs().sort_values(ascending=False).index[:3]
            text = ", ".join(
                f"{code}{_name(names, code)} {_number(changes[code], signed=True)}" for code in top
            )
            lines.append(f"  {domain:<12} {indicator_id} ({unit}): {text}")
        lines.append("")
        recomputed = ", ".join(self.evaluation.recomputed) or "none"
        lines.append(f"Models recomputed: {recomputed}; run time {self.seconds:.1f} s.")
        lines.append(
            "Inputs include estimated values (building heights, dwellings, residents) and assumed model"
            " parameters; see docs/models/ for methods, sources and limits."
        )
        return "\n".join(lines) + "\n"

    def as_document(self) -> dict[str, Any]:
        """The citywide comparison and effects as JSON-ready data (for the API)."""
        city = self.comparison.city.reset_index()
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "city": json.loads(city.to_json(orient="records")),
            "effects": {
                "domains": {
                    domain: {"indicator": ind, "unit": unit} for domain, (ind, unit) in self.headlines.items()
                },
                "rows": json.loads(self.effects.reset_index().to_json(orient="records")),
            },
            "recomputed": list(self.evaluation.recomputed),
            "seconds": {
                "total": round(self.seconds, 3),
                **{k: round(v, 3) for k, v in self.evaluation.seconds.items()},
            },
            "summary": self.summary(),
        }


@dataclass
class ScenarioService:
    """Everything about scenarios, for the API, the CLI, the benchmarks and the tests."""

    settings: Settings
    city_loader: Callable[[], CityState] | None = None
    registry: Registry = field(default_factory=load_registry)
    _city: CityState | None = field(default=None, init=False)
    _engine: Engine | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _run_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    publication_runner: PublicationRunner | None = field(default=None, init=False)
    """Set by the job manager: runs a scenario once when it is published, as a public job."""

    @property
    def documents(self) -> DocumentStore:
        """The stored scenarios."""
        return DocumentStore(self.settings.data_dir, "scenarios")

    @property
    def publications(self) -> DocumentStore:
        """Publication records: one version per approved publication of a scenario."""
        return DocumentStore(self.settings.data_dir, "publications")

    def city(self) -> CityState:
        """The baseline city (read from the store on first use)."""
        with self._lock:
            if self._city is None:
                loader = self.city_loader or (lambda: load_city(self.settings.resolved_store_url))
                self._city = loader()
            return self._city

    def engine(self) -> Engine:
        """The engine over the baseline city (baseline results cached inside)."""
        city = self.city()
        with self._lock:
            if self._engine is None:
                self._engine = Engine(self.registry, city)
            return self._engine

    def check_parameters(self, scenario: Scenario) -> None:
        """Unknown models or parameter names in ``scenario.parameters`` → InvalidInputError."""
        for model_id, overrides in scenario.parameters.items():
            model = self.registry.models.get(model_id)
            if model is None:
                raise InvalidInputError(
                    f"parameters: unknown model {model_id!r}; models: {', '.join(self.registry.models)}",
                    invalid_params=[{"name": f"parameters.{model_id}", "reason": "unknown model"}],
                )
            try:
                model.make_params(overrides)
            except KeyError as error:
                raise InvalidInputError(
                    f"parameters.{model_id}: unknown parameter(s) {error.args[0]}",
                    invalid_params=[{"name": f"parameters.{model_id}", "reason": "unknown parameter"}],
                ) from None
            except (TypeError, ValueError) as error:
                raise InvalidInputError(f"parameters.{model_id}: {error}") from None

    def run(self, scenario: Scenario, *, effects: bool = True) -> ScenarioRun:
        """Apply, evaluate and compare a scenario; with ``effects`` also each intervention alone.

        Runs one at a time per process: they are CPU-bound, and the engine's caches are not shared
        between threads.
        """
        with self._run_lock:
            return self._run(scenario, effects=effects)

    def _run(self, scenario: Scenario, *, effects: bool) -> ScenarioRun:
        started = time.perf_counter()
        self.check_parameters(scenario)
        engine = self.engine()
        params = scenario.parameters
        applied = apply_interventions(self.city(), scenario.interventions, scenario.crs)
        evaluation, comparison = engine.run(applied.city, applied.change, params)
        headlines = self._headlines(comparison)
        combined = self._headline_changes(comparison, headlines)
        rows = {"all interventions": combined}
        if len(scenario.interventions) == 1:
            rows = {_label(0, scenario.interventions[0]): combined}
        elif effects and scenario.interventions:
            for index, item in enumerate(scenario.interventions):
                alone = apply_interventions(self.city(), [item], scenario.crs, offset=index)
                _, single = engine.run(alone.city, alone.change, params)
                rows[_label(index, item)] = self._headline_changes(single, headlines)
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "intervention"
        return ScenarioRun(
            scenario, applied, evaluation, comparison, table, headlines, time.perf_counter() - started
        )

    @staticmethod
    def _headlines(comparison: Comparison) -> dict[str, tuple[str, str]]:
        city = comparison.city
        headlines: dict[str, tuple[str, str]] = {}
        for indicator_id, row in city.iterrows():
            domain = str(row["domain"])
            preferred = HEADLINES.get(domain, "")
            chosen = preferred if preferred in city.index else str(indicator_id)
            headlines.setdefault(domain, (chosen, str(city.loc[chosen, "unit"])))
        return headlines

    @staticmethod
    def _headline_changes(
        comparison: Comparison, headlines: Mapping[str, tuple[str, str]]
    ) -> dict[str, float]:
        differences = comparison.city["difference"].astype(float)
        return {domain: float(differences[ind]) for domain, (ind, _) in headlines.items()}

    # -- stored scenarios ------------------------------------------------------------------

    def save(
        self, scenario: Scenario, scenario_id: str | None = None, *, author: str | None = None
    ) -> dict[str, Any]:
        """Store ``scenario`` as a new scenario (or a new version of ``scenario_id``, which keeps its
        author unless ``author`` is given)."""
        documents = self.documents
        if scenario_id is None:
            scenario_id = _slug(scenario.name)
            if documents.exists(scenario_id):
                scenario_id = f"{scenario_id[:90]}-{uuid.uuid4().hex[:8]}"
        check_document_id(scenario_id, "scenario id")
        created = now_stamp()
        if documents.exists(scenario_id):
            created = documents.load(scenario_id, documents.versions(scenario_id)[0])["created"]
            author = author or documents.load(scenario_id)["author"]
        body: dict[str, Any] = {
            "id": scenario_id,
            "created": created,
            "updated": now_stamp(),
            "author": author or scenario.author,
            "scenario": scenario.model_dump(mode="json"),
        }
        body["version"] = documents.save(scenario_id, body)
        return body

    def get(self, scenario_id: str, version: int | None = None) -> dict[str, Any]:
        """A stored scenario (latest version unless ``version``), with id, version, author, times."""
        document = self.documents.load(scenario_id, version)
        document["version"] = version or self.documents.versions(scenario_id)[-1]
        return document

    def stored(self, scenario_id: str, version: int | None = None) -> Scenario:
        """A stored scenario as a validated :class:`Scenario`."""
        return parse_scenario(self.get(scenario_id, version)["scenario"])

    def catalogue(self) -> list[dict[str, Any]]:
        """All stored scenarios (latest versions): id, name, author, version, created, updated."""
        out = []
        for scenario_id in self.documents.ids():
            document = self.get(scenario_id)
            out.append(
                {
                    "id": scenario_id,
                    "name": document["scenario"]["name"],
                    "author": document["author"],
                    "version": document["version"],
                    "created": document["created"],
                    "updated": document["updated"],
                }
            )
        return out

    def versions(self, scenario_id: str) -> list[int]:
        """Version numbers of a stored scenario."""
        versions = self.documents.versions(scenario_id)
        if not versions:
            raise NotFoundError(f"no scenario with id {scenario_id!r}")
        return versions

    def copy(
        self,
        scenario_id: str,
        *,
        name: str | None = None,
        author: str | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """A new stored scenario copied from ``version`` (the latest by default) of ``scenario_id``."""
        source = self.stored(scenario_id, version)
        copied = source.model_copy(update={"name": name or f"{source.name} (copy)"})
        return self.save(copied, author=author or source.author)

    def delete(self, scenario_id: str) -> None:
        """Remove a stored scenario with all its versions and its publication records (so that a
        later scenario given the same id is not public)."""
        self.documents.delete(scenario_id)
        if self.publications.exists(scenario_id):
            self.publications.delete(scenario_id)

    # -- ownership and publication ---------------------------------------------------------

    def publish(self, scenario_id: str, version: int, *, review_id: str, by: str) -> dict[str, Any]:
        """Record that ``version`` of a scenario is public (approved by review ``review_id``) and start
        its public run; returns the publication record (with ``job_id`` when a run was started)."""
        document = self.get(scenario_id, version)
        record: dict[str, Any] = {
            "scenario_id": scenario_id,
            "version": document["version"],
            "review_id": review_id,
            "published": now_stamp(),
            "approved_by": by,
            "job_id": None,
        }
        if self.publication_runner is not None:
            try:
                job = self.publication_runner(scenario_id, document["version"], document["author"])
                record["job_id"] = job["jobID"]
            except RuntimeError:  # the job manager has shut down (server stopping)
                record["job_id"] = None
        self.publications.save(scenario_id, record)
        return record

    def published_versions(self, scenario_id: str) -> list[int]:
        """The versions of a scenario approved for publication, oldest first."""
        store = self.publications
        if not store.exists(scenario_id):
            return []
        versions = {int(store.load(scenario_id, n)["version"]) for n in store.versions(scenario_id)}
        existing = set(self.documents.versions(scenario_id))
        return sorted(versions & existing)

    def is_published(self, scenario_id: str, version: int) -> bool:
        """Whether ``version`` of the scenario is public."""
        return version in self.published_versions(scenario_id)

    def visible_versions(self, scenario_id: str, principal: Principal) -> list[int]:
        """The versions of a scenario ``principal`` may read: all for its author and the scenario
        readers, the published ones for everyone else; NotFoundError when there are none (a
        scenario one may not see does not exist for them)."""
        versions = self.versions(scenario_id)
        if reads_all_scenarios(principal) or owns(principal, self.documents.load(scenario_id)["author"]):
            return versions
        published = self.published_versions(scenario_id)
        if not published:
            raise NotFoundError(f"no scenario with id {scenario_id!r}")
        return published

    def visible(self, scenario_id: str, principal: Principal, version: int | None = None) -> dict[str, Any]:
        """A stored scenario as ``principal`` may read it (the latest version it may see unless
        ``version``); the author's account name only for its author and the scenario readers."""
        versions = self.visible_versions(scenario_id, principal)
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise NotFoundError(f"{scenario_id!r} has no version {chosen} you may read; versions: {versions}")
        document = self.get(scenario_id, chosen)
        document["published_versions"] = self.published_versions(scenario_id)
        document["published"] = chosen in document["published_versions"]
        if not (reads_all_scenarios(principal) or owns(principal, document["author"])):
            document.pop("author", None)
        return document

    def visible_catalogue(self, principal: Principal) -> list[dict[str, Any]]:
        """The stored scenarios ``principal`` may see, each at the latest version it may read."""
        out = []
        for scenario_id in self.documents.ids():
            try:
                document = self.visible(scenario_id, principal)
            except NotFoundError:
                continue
            item = {
                "id": scenario_id,
                "name": document["scenario"]["name"],
                "version": document["version"],
                "published": document["published"],
                "created": document["created"],
                "updated": document["updated"],
            }
            if "author" in document:
                item = {**item, "author": document["author"]}
            out.append(item)
        return out

    def require_change(self, scenario_id: str, principal: Principal) -> dict[str, Any]:
        """The latest version of a scenario ``principal`` may change: NotFoundError when they may
        not see it, PermissionDeniedError when it is not theirs (administrators change any)."""
        self.visible_versions(scenario_id, principal)
        document = self.get(scenario_id)
        if not may_change(principal, document["author"]):
            raise PermissionDeniedError(
                f"scenario {scenario_id!r} belongs to another account: only its author or an administrator "
                "may change or delete it; copy it to make your own variant"
            )
        return document

    def compare(self, first: Scenario, second: Scenario) -> pd.DataFrame:
        """Citywide indicators of two scenarios side by side (both against the same baseline)."""
        a = self.run(first, effects=False).comparison.city
        b = self.run(second, effects=False).comparison.city
        table = a[["title", "domain", "unit", "baseline"]].copy()
        table["first"] = a["scenario"]
        table["second"] = b["scenario"]
        table["second_minus_first"] = b["scenario"] - a["scenario"]
        return table


def _slug(name: str) -> str:
    text = "".join(ch if ch.isalnum() else "-" for ch in name.lower())
    slug = "-".join(part for part in text.split("-") if part)[:100]
    return slug if slug and slug[0].isalnum() else f"scenario-{slug}".strip("-")[:100]


def read_scenario_file(path: Path) -> Scenario:
    """A scenario from a YAML or JSON file; InvalidInputError with the reason on failure."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise InvalidInputError(f"cannot read {path}: {error.strerror}") from None
    return parse_scenario(text)
