"""The dataset catalogue: what every dataset of the twin is, who owns it, how sensitive it is and
how it was made (lineage), read from the shipped ``data/catalogue.yaml``.

Loading validates the whole document and fails loudly (:class:`ConfigurationError`): a dataset
that is personal, or holds a personal field, must name its legal basis, purpose and retention;
every input file must be in the demo data's ``manifest.json`` (its row count and sha256 come from
there, so they cannot drift) and come from one declared source; ``derived_from`` must name
catalogued datasets and form no cycle.

Lineage is a directed graph from raw sources down to a dataset. Nodes: ``source:<id>`` (the
publisher of the originals), ``raw:<file>`` (an original file, kept outside the package),
``file:<name>`` (a file shipped in ``src/tweeling/data/dordrecht``), ``step:...`` (a processing
activity: the code that ran, ``module:function`` or ``script.py:function``) and
``dataset:<id>``. Edges point downstream: ``retrieved`` (source -> raw), ``used`` (entity ->
step), ``generated`` (step -> entity). A scenario run adds ``run:``, ``scenario:``, ``model:`` and
``results:`` nodes (:meth:`Catalogue.run_lineage`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tweeling.citymodel.datadir import DEMO_DIR
from tweeling.core.errors import ConfigurationError, NotFoundError
from tweeling.governance.roles import Classification, Principal
from tweeling.scenarios.model import ModelInfo

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "data" / "catalogue.yaml"
"""The shipped catalogue."""

MANIFEST_FILE = DEMO_DIR / "manifest.json"
"""Checksums and row counts of the shipped demo files (written by scripts/build_demo_data.py)."""

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (ten times faster), else the Python one."""

RESERVED_IDS = frozenset({"runs"})
"""Ids a dataset cannot have: ``/catalogue/runs/{job_id}/lineage`` is the lineage of a run."""

DatasetKind = Literal[
    "layer",
    "tiles",
    "sensorthings",
    "documents",
    "job-results",
    "statistics",
    "audit-log",
    "user-records",
    "review-records",
]
"""How a dataset is held: ``layer`` is a store layer (an OGC API Features collection)."""

CITY_FIELD_DATASETS: Mapping[str, str] = {
    "buurten": "buurten",
    "buildings": "buildings",
    "roads": "roads",
    "road_nodes": "road_nodes",
    "facilities": "facilities",
    "green": "green",
    "water": "water",
    "weather": "weather",
}
"""City-state fields (``ModelInfo.reads``, parts such as ``roads.active`` included) that a model
reads from a baseline dataset; see ``tweeling.scenarios.city.CITY_FIELDS``."""

SCENARIO_FIELDS = frozenset({"trees", "depaved", "horizon_years", "trip_reduction", "new_households"})
"""City-state fields that only a scenario's interventions fill (the baseline has none)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A publisher of original data, and the original files the twin took from it."""

    title: str
    owner: str
    link: str
    licence: str = Field(description="SPDX licence expression, or LicenseRef-... where there is none.")
    licence_note: str | None = None
    attribution: str
    retrieved_from: str
    raw_files: tuple[str, ...] = ()
    """Original file names (in ``shared/data/dordrecht``); a name ending in ``/`` is a folder."""


class SourceLink(_Strict):
    """Where a dataset comes from, for people: a title and a link."""

    title: str
    link: str


class FieldClassification(_Strict):
    """A field that is more sensitive than its dataset, and why."""

    classification: Classification
    reason: str


class Estimate(_Strict):
    """Fields whose values are estimated rather than observed (empty ``fields``: every value)."""

    fields: tuple[str, ...] = ()
    method: str
    documentation: str | None = None


class Step(_Strict):
    """One processing step: the code that ran (``package.module:function`` or
    ``scripts/file.py:function``; ``Class.method`` allowed) and what it does."""

    code: str = Field(pattern=r"^[A-Za-z0-9_./-]+:[A-Za-z_][A-Za-z0-9_.]*$")
    description: str

    @property
    def location(self) -> str:
        """The module (dotted) or the script path."""
        return self.code.partition(":")[0]

    @property
    def attribute(self) -> str:
        """The function, class or ``Class.method`` in it."""
        return self.code.partition(":")[2]


class Lineage(_Strict):
    """How a dataset is made: shipped input files, datasets it derives from, sources it reads
    directly (live APIs, records of use) and the processing steps in order."""

    inputs: tuple[str, ...] = ()
    derived_from: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()


class DatasetEntry(_Strict):
    """One dataset of the twin."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    title: str
    kind: DatasetKind
    description: str
    owner: str
    """Who is responsible for the content (a municipal department or the publishing organisation)."""
    steward: str
    """Who maintains the dataset in the twin."""
    source: SourceLink
    licence: str
    licence_note: str | None = None
    attribution: str
    update_frequency: str
    classification: Classification
    fields: dict[str, FieldClassification] = Field(default_factory=dict)
    legal_basis: str | None = None
    purpose: str | None = None
    retention: str | None = None
    disclosure_control: str | None = None
    estimated: tuple[Estimate, ...] = ()
    synthetic: bool = False
    synthetic_method: str | None = None
    documentation: str | None = None
    endpoints: tuple[str, ...] = ()
    """Paths from the server root where the dataset is served (``/v1/collections/buildings``)."""
    lineage: Lineage = Field(default_factory=Lineage)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetEntry:
        for name, spec in self.fields.items():
            if not spec.classification.rank > self.classification.rank:
                raise ValueError(
                    f"field {name!r} is {spec.classification}, not stricter than the dataset "
                    f"({self.classification}): list only fields more sensitive than their dataset"
                )
        if self.is_personal:
            missing = [name for name in ("legal_basis", "purpose", "retention") if not getattr(self, name)]
            if missing:
                what = (
                    "is personal" if self.classification is Classification.PERSONAL else "has personal fields"
                )
                raise ValueError(f"dataset {what} but names no {', '.join(missing)} (required by the GDPR)")
        if self.synthetic and not self.synthetic_method:
            raise ValueError("a synthetic dataset needs synthetic_method")
        if self.id in RESERVED_IDS:
            raise ValueError(f"{self.id!r} is reserved")
        return self

    @property
    def personal_fields(self) -> list[str]:
        """Fields classified personal."""
        return [name for name, spec in self.fields.items() if spec.classification is Classification.PERSONAL]

    @property
    def is_personal(self) -> bool:
        """Whether the dataset, or any of its fields, is personal data."""
        return self.classification is Classification.PERSONAL or bool(self.personal_fields)

    @property
    def estimated_fields(self) -> list[str]:
        """Fields named in ``estimated`` (an estimate without field names covers every value)."""
        return [name for estimate in self.estimated for name in estimate.fields]

    def field_classification(self, name: str) -> Classification:
        """The classification of one field (its dataset's unless listed under ``fields``)."""
        spec = self.fields.get(name)
        return spec.classification if spec is not None else self.classification


class CatalogueDocument(_Strict):
    """The catalogue file: sources of original data and the datasets."""

    sources: dict[str, Source]
    datasets: tuple[DatasetEntry, ...]


@dataclass(frozen=True)
class InputFile:
    """A shipped input file (or folder of files) with what the manifest says about it."""

    name: str
    """As the catalogue names it: a file of the demo folder, or a folder ending in ``/``."""
    raw: str
    """The original file (or folder) it was made from, as its source lists it."""
    part: str | None
    """The layer of the original (GeoPackage) it was read from, if any."""
    source: str
    sha256: str
    """The file's sha256; for a folder, sha256 over the sorted ``name sha256`` lines of its files."""
    rows: int | None
    bytes: int
    files: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "file": self.name,
            "path": f"src/tweeling/data/dordrecht/{self.name}",
            "sha256": self.sha256,
            "rows": self.rows,
            "bytes": self.bytes,
            "files": self.files,
            "raw": self.raw,
            "raw_part": self.part,
            "source": self.source,
        }


@dataclass
class LineageGraph:
    """Nodes (by id, in the order found) and edges (upstream -> downstream) of a lineage."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, str]] = field(default_factory=list)
    _edge_keys: set[tuple[str, str, str]] = field(default_factory=set)

    def node(self, node_id: str, kind: str, **attributes: Any) -> str:
        """Add a node once; returns its id."""
        if node_id not in self.nodes:
            self.nodes[node_id] = {"id": node_id, "kind": kind, **attributes}
        return node_id

    def edge(self, upstream: str, downstream: str, relation: str) -> None:
        """Add an edge once."""
        key = (upstream, downstream, relation)
        if key not in self._edge_keys:
            self._edge_keys.add(key)
            self.edges.append({"from": upstream, "to": downstream, "relation": relation})

    def as_dict(self, root: str) -> dict[str, Any]:
        """JSON-ready: the root node's id, the nodes and the edges."""
        return {"root": root, "nodes": list(self.nodes.values()), "edges": list(self.edges)}


@dataclass(frozen=True)
class RunRecord:
    """What a scenario job records, as far as its lineage needs it."""

    job_id: str
    status: str
    created: str
    finished: str | None
    scenario: Mapping[str, Any]
    """The scenario document as it ran."""
    scenario_id: str | None
    scenario_version: int | None
    recomputed: tuple[str, ...] | None
    """Models recomputed for the scenario (None when the job has no results)."""

    @classmethod
    def from_job(
        cls,
        record: Mapping[str, Any],
        inputs: Mapping[str, Any],
        result: Mapping[str, Any] | None = None,
        *,
        scenario_version: int | None = None,
    ) -> RunRecord:
        """From a job's status record, its stored inputs (``{"scenario", "scenario_id"}``) and its
        results document (``result.json``; None while the job has none). The scenario version is
        the record's ``scenario_version`` unless ``scenario_version`` is given."""
        recomputed = result.get("recomputed") if result is not None else None
        if scenario_version is None and record.get("scenario_version") is not None:
            scenario_version = int(record["scenario_version"])
        return cls(
            job_id=str(record["jobID"]),
            status=str(record.get("status", "")),
            created=str(record.get("created", "")),
            finished=record.get("finished"),
            scenario=dict(inputs.get("scenario") or {}),
            scenario_id=inputs.get("scenario_id") or record.get("scenario_id"),
            scenario_version=scenario_version,
            recomputed=tuple(recomputed) if recomputed is not None else None,
        )


def stored_scenario_version(
    scenario: Mapping[str, Any], versions: Mapping[int, Mapping[str, Any]], before: str
) -> int | None:
    """The version of a stored scenario a job ran: the latest version stored no later than
    ``before`` (the job's creation time, ISO 8601 UTC) whose scenario equals ``scenario``."""
    matching = [
        number
        for number, document in versions.items()
        if document.get("scenario") == scenario and str(document.get("updated", "")) <= before
    ]
    return max(matching, default=None)


def _validation_message(error: ValidationError, document: Mapping[str, Any]) -> str:
    first = error.errors()[0]
    location = list(first["loc"])
    where = ".".join(str(part) for part in location)
    if len(location) >= 2 and location[0] == "datasets" and isinstance(location[1], int):
        datasets = document.get("datasets") or []
        if location[1] < len(datasets) and isinstance(datasets[location[1]], Mapping):
            where = f"dataset {datasets[location[1]].get('id', location[1])!r}"
            if len(location) > 2:
                where += " " + ".".join(str(part) for part in location[2:])
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


def _read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    try:
        files: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigurationError(f"demo data manifest {path.name} cannot be read: {exc}") from exc
    return files


class Catalogue:
    """Per dataset: metadata, classification (also per field) and lineage.

    ``Catalogue()`` reads the shipped catalogue; give ``path`` (and ``manifest``) to read another.
    Raises :class:`ConfigurationError` naming the first problem when the file is not valid.
    """

    def __init__(self, path: Path | None = None, *, manifest: Path | None = None) -> None:
        self.path = path or CATALOGUE_FILE
        try:
            raw = yaml.load(self.path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except (OSError, yaml.YAMLError) as exc:
            problem = " ".join(str(exc).split())
            raise ConfigurationError(f"dataset catalogue {self.path.name} cannot be read: {problem}") from exc
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"dataset catalogue {self.path.name}: expected a mapping at the top")
        try:
            self.document = CatalogueDocument.model_validate(raw)
        except ValidationError as error:
            raise ConfigurationError(
                f"dataset catalogue {self.path.name}: {_validation_message(error, raw)}"
            ) from None
        self._entries = {entry.id: entry for entry in self.document.datasets}
        if len(self._entries) != len(self.document.datasets):
            ids = [entry.id for entry in self.document.datasets]
            twice = sorted({name for name in ids if ids.count(name) > 1})
            raise ConfigurationError(
                f"dataset catalogue {self.path.name}: ids listed twice: {', '.join(twice)}"
            )
        self.manifest = _read_manifest(manifest or MANIFEST_FILE)
        self._inputs: dict[str, InputFile] = {}
        for entry in self.document.datasets:
            for name in entry.lineage.inputs:
                self._inputs.setdefault(name, self._resolve_input(entry.id, name))
            for source in entry.lineage.sources:
                if source not in self.document.sources:
                    self._fail(entry.id, f"names unknown source {source!r}")
            for parent in entry.lineage.derived_from:
                if parent not in self._entries:
                    self._fail(entry.id, f"derives from {parent!r}, which is not in the catalogue")
        self._check_acyclic()

    def _fail(self, dataset_id: str, problem: str) -> None:
        raise ConfigurationError(f"dataset catalogue {self.path.name}: dataset {dataset_id!r} {problem}")

    def _resolve_input(self, dataset_id: str, name: str) -> InputFile:
        if name.endswith("/"):
            members = {key: value for key, value in self.manifest.items() if key.startswith(name)}
        else:
            members = {name: self.manifest[name]} if name in self.manifest else {}
        if not members:
            self._fail(dataset_id, f"reads {name!r}, which is not in the demo data's manifest.json")
        originals = {str(entry.get("source", "")) for entry in members.values()}
        raw, part, source = self._raw_of(dataset_id, name, originals)
        if len(members) == 1 and not name.endswith("/"):
            only = members[name]
            sha256, rows = str(only.get("sha256", "")), only.get("rows")
        else:
            lines = "".join(f"{key} {members[key].get('sha256', '')}\n" for key in sorted(members))
            sha256, rows = hashlib.sha256(lines.encode()).hexdigest(), None
        return InputFile(
            name=name,
            raw=raw,
            part=part,
            source=source,
            sha256=sha256,
            rows=int(rows) if rows is not None else None,
            bytes=sum(int(entry.get("bytes", 0)) for entry in members.values()),
            files=len(members),
        )

    def _raw_of(self, dataset_id: str, name: str, originals: set[str]) -> tuple[str, str | None, str]:
        """The original file (as a source lists it), the part of it read, and the source's id."""
        found: set[tuple[str, str]] = set()
        parts: set[str | None] = set()
        for original in sorted(originals):
            file_name, _, part = original.partition(":")
            hits = [
                (raw, source_id)
                for source_id, source in self.document.sources.items()
                for raw in source.raw_files
                if file_name == raw or (raw.endswith("/") and file_name.startswith(raw))
            ]
            if len(hits) != 1:
                self._fail(
                    dataset_id,
                    f"reads {name!r}, made from {original!r}: list that original (or its folder) "
                    f"under exactly one source's raw_files (found {len(hits)})",
                )
            found.add(hits[0])
            parts.add(part or None)
        if len(found) != 1:
            self._fail(dataset_id, f"reads {name!r}, made from originals of several sources")
        raw, source_id = found.pop()
        return raw, parts.pop() if len(parts) == 1 else None, source_id

    def _check_acyclic(self) -> None:
        state: dict[str, str] = {}

        def visit(dataset_id: str, trail: list[str]) -> None:
            if state.get(dataset_id) == "done":
                return
            if state.get(dataset_id) == "visiting":
                cycle = " -> ".join([*trail[trail.index(dataset_id) :], dataset_id])
                raise ConfigurationError(
                    f"dataset catalogue {self.path.name}: derived_from has a cycle: {cycle}"
                )
            state[dataset_id] = "visiting"
            for parent in self._entries[dataset_id].lineage.derived_from:
                visit(parent, [*trail, dataset_id])
            state[dataset_id] = "done"

        for dataset_id in self._entries:
            visit(dataset_id, [])

    # -- metadata ------------------------------------------------------------------------------

    def entries(self) -> list[DatasetEntry]:
        """Every dataset, in catalogue order."""
        return list(self._entries.values())

    def has(self, dataset_id: str) -> bool:
        """Whether the catalogue describes ``dataset_id``."""
        return dataset_id in self._entries

    def entry(self, dataset_id: str) -> DatasetEntry:
        """One dataset; NotFoundError naming the known ids."""
        try:
            return self._entries[dataset_id]
        except KeyError:
            known = ", ".join(self._entries)
            raise NotFoundError(f"no dataset {dataset_id!r} in the catalogue; known: {known}") from None

    def source(self, source_id: str) -> Source:
        """A source of original data by id."""
        try:
            return self.document.sources[source_id]
        except KeyError:
            raise NotFoundError(f"no source {source_id!r} in the catalogue") from None

    def input_file(self, name: str) -> InputFile:
        """A shipped input file as the manifest describes it."""
        try:
            return self._inputs[name]
        except KeyError:
            raise NotFoundError(f"no input file {name!r} in the catalogue") from None

    def layer_ids(self) -> list[str]:
        """Ids of the datasets held as store layers (OGC API Features collections)."""
        return [entry.id for entry in self._entries.values() if entry.kind == "layer"]

    def classification(self, dataset_id: str) -> Classification:
        """The classification of a dataset; unknown ids are open (the route answers 404 later)."""
        entry = self._entries.get(dataset_id)
        return entry.classification if entry is not None else Classification.OPEN

    def hidden_fields(self, dataset_id: str, principal: Principal) -> frozenset[str]:
        """Fields of the dataset that ``principal`` may not see in detail: those classified beyond
        the principal's clearance (``residents_est`` of buildings for the public and residents)."""
        entry = self._entries.get(dataset_id)
        if entry is None:
            return frozenset()
        return frozenset(
            name for name, spec in entry.fields.items() if not principal.sees_detail(spec.classification)
        )

    # -- lineage -------------------------------------------------------------------------------

    def lineage(self, dataset_id: str) -> dict[str, Any]:
        """The upstream graph of a dataset, down to the raw files and their sources."""
        graph = LineageGraph()
        root = self._add_dataset(graph, self.entry(dataset_id).id)
        return graph.as_dict(root)

    def _add_dataset(self, graph: LineageGraph, dataset_id: str) -> str:
        node_id = f"dataset:{dataset_id}"
        if node_id in graph.nodes:
            return node_id
        entry = self._entries[dataset_id]
        graph.node(
            node_id,
            "dataset",
            title=entry.title,
            classification=str(entry.classification),
            owner=entry.owner,
            licence=entry.licence,
        )
        upstream = [self._add_dataset(graph, parent) for parent in entry.lineage.derived_from]
        upstream += [self._add_input(graph, name) for name in entry.lineage.inputs]
        upstream += [self._add_source(graph, source) for source in entry.lineage.sources]
        step = graph.node(
            f"step:{dataset_id}",
            "step",
            title=f"make {dataset_id}",
            steps=[{"code": s.code, "description": s.description} for s in entry.lineage.steps],
        )
        for parent in upstream:
            graph.edge(parent, step, "used")
        graph.edge(step, node_id, "generated")
        return node_id

    def _add_input(self, graph: LineageGraph, name: str) -> str:
        shipped = self._inputs[name]
        node_id = f"file:{name}"
        if node_id in graph.nodes:
            return node_id
        details = shipped.as_dict()
        details.pop("file")
        graph.node(node_id, "file", title=name, **details)
        raw = graph.node(
            f"raw:{shipped.raw}",
            "raw",
            title=shipped.raw,
            location=f"shared/data/dordrecht/{shipped.raw} (originals, see PROVENANCE.md; not shipped)",
        )
        graph.edge(self._add_source(graph, shipped.source), raw, "retrieved")
        step = graph.node(
            f"step:file:{name}",
            "step",
            title=f"make {name}",
            steps=[
                {
                    "code": "scripts/build_demo_data.py:build",
                    "description": "Keeps the columns the twin uses (no value changed), writes "
                    "GeoParquet/Parquet/CSV or gzip, records rows and sha256 in manifest.json."
                    + (f" Read from layer {shipped.part!r}." if shipped.part else ""),
                }
            ],
        )
        graph.edge(raw, step, "used")
        graph.edge(step, node_id, "generated")
        return node_id

    def _add_source(self, graph: LineageGraph, source_id: str) -> str:
        source = self.document.sources[source_id]
        return graph.node(
            f"source:{source_id}",
            "source",
            title=source.title,
            owner=source.owner,
            link=source.link,
            licence=source.licence,
            retrieved_from=source.retrieved_from,
        )

    def run_lineage(self, run: RunRecord, models: Sequence[ModelInfo]) -> dict[str, Any]:
        """The lineage of a scenario run: its results derive from the scenario (id, version), the
        models that ran (``models``, in run order) and the baseline datasets each model reads,
        with those datasets' own lineage down to the raw sources.

        Model versions are those of ``models`` (the registry now): a job does not record them.
        """
        graph = LineageGraph()
        run_node = graph.node(
            f"run:{run.job_id}",
            "run",
            title=f"scenario run {run.job_id}",
            process="run-scenario",
            status=run.status,
            created=run.created,
            finished=run.finished,
        )
        if run.scenario_id:
            version = f"@v{run.scenario_version}" if run.scenario_version is not None else ""
            scenario_node_id = f"scenario:{run.scenario_id}{version}"
        else:
            scenario_node_id = f"scenario:{run.job_id}"
        parameters = run.scenario.get("parameters") or {}
        scenario_node = graph.node(
            scenario_node_id,
            "scenario",
            title=str(run.scenario.get("name", "")),
            scenario_id=run.scenario_id,
            version=run.scenario_version,
            dataset="scenarios" if run.scenario_id else None,
            interventions=len(run.scenario.get("interventions") or []),
        )
        graph.edge(scenario_node, run_node, "used")
        model_nodes: dict[str, str] = {}
        for info in models:
            model_node = graph.node(
                f"model:{info.id}@{info.version}",
                "model",
                title=info.title,
                model_id=info.id,
                version=info.version,
                version_recorded_by_job=False,
                recomputed=None if run.recomputed is None else info.id in run.recomputed,
                parameter_overrides=dict(parameters.get(info.id) or {}),
            )
            model_nodes[info.id] = model_node
            for need in info.requires:
                if need in model_nodes:
                    graph.edge(model_nodes[need], model_node, "used")
            for read in sorted(info.reads):
                table = read.partition(".")[0]
                if table in CITY_FIELD_DATASETS:
                    graph.edge(self._add_dataset(graph, CITY_FIELD_DATASETS[table]), model_node, "used")
                elif table in SCENARIO_FIELDS:
                    graph.edge(scenario_node, model_node, "used")
                else:
                    field_node = graph.node(f"field:{read}", "city-field", title=read, catalogued=False)
                    graph.edge(field_node, model_node, "used")
            graph.edge(model_node, run_node, "used")
        if run.status == "successful":
            results = graph.node(
                f"results:{run.job_id}", "results", title="scenario results", dataset="scenario_results"
            )
            graph.edge(run_node, results, "generated")
        return graph.as_dict(run_node)


@cache
def shipped_catalogue() -> Catalogue:
    """The shipped catalogue, read once per process (for code that has no Governance at hand)."""
    return Catalogue()
