"""HTML pages of the same resources the JSON API serves (``f=html``), for browsing the data."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import orjson

from tweeling.core.schema import FieldSpec
from tweeling.services.features import Collection, FeaturePage

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#14425c;color:#fff;padding:.8rem 1.5rem}header a{color:#fff}
main{padding:1rem 1.5rem;max-width:80rem}table{border-collapse:collapse;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#e8eef2}.est{background:#fff4d6}.meta{color:#555}nav.pages a{margin-right:1rem}
footer{padding:1rem 1.5rem;color:#555;font-size:.85rem}code{background:#eee;padding:0 .2rem}
"""


def _page(title: str, crumbs: Sequence[tuple[str, str]], body: str, attribution: str = "") -> str:
    trail = " / ".join(f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in crumbs)
    footer = escape(attribution) if attribution else "Tweeling — open digital twin of Dordrecht"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body><header><strong>Tweeling</strong> · {trail}</header>"
        f"<main><h1>{escape(title)}</h1>{body}</main>"
        f"<footer>{footer}</footer></body></html>"
    )


def _links(links: Sequence[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a> '
        f'<span class="meta">({escape(link["rel"])}, {escape(link.get("type", ""))})</span></li>'
        for link in links
    )
    return f"<ul>{items}</ul>"


def landing(document: dict[str, Any], base: str) -> str:
    """The landing page."""
    body = f"<p>{escape(document['description'])}</p>{_links(document['links'])}"
    return _page(document["title"], [("Home", base)], body)


def conformance(classes: Sequence[str], base: str) -> str:
    """The conformance classes."""
    body = "<ul>" + "".join(f"<li><code>{escape(c)}</code></li>" for c in classes) + "</ul>"
    return _page("Conformance", [("Home", base), ("Conformance", f"{base}/conformance")], body)


def collections(items: Sequence[Collection], base: str) -> str:
    """The list of collections."""
    rows = "".join(
        f'<tr><td><a href="{base}/collections/{escape(c.id)}?f=html">{escape(c.id)}</a></td>'
        f"<td>{escape(c.info.title)}</td><td>{c.info.feature_count:,}</td>"
        f"<td>{escape(c.info.geometry_type or 'none (table)')}</td>"
        f"<td>{escape(', '.join(c.schema.estimated_fields) or '-')}</td></tr>"
        for c in items
    )
    body = (
        "<table><tr><th>id</th><th>title</th><th>features</th><th>geometry</th><th>estimated fields</th></tr>"
        f"{rows}</table>"
    )
    return _page("Collections", [("Home", base), ("Collections", f"{base}/collections?f=html")], body)


def collection(item: Collection, base: str) -> str:
    """One collection: description, provenance and its fields."""
    schema = item.schema

    def provenance(spec: FieldSpec) -> str:
        return f"estimated: {escape(spec.method or '')}" if spec.estimated else escape(spec.source or "")

    fields = "".join(
        f"<tr{' class=est' if spec.estimated else ''}><td><code>{escape(spec.name)}</code></td>"
        f"<td>{escape(spec.type)}</td><td>{escape(spec.unit or '')}</td><td>{escape(spec.description)}</td>"
        f"<td>{provenance(spec)}</td></tr>"
        for spec in schema.fields
    )
    notes = "".join(f"<li>{escape(note)}</li>" for note in schema.notes)
    href = f"{base}/collections/{escape(item.id)}"
    body = (
        f"<p>{escape(schema.description)}</p>"
        f'<p><a href="{href}/items?f=html">Browse the {item.info.feature_count:,} features</a> · '
        f'<a href="{href}/items?f=json">GeoJSON</a> · <a href="{href}/queryables">queryables</a></p>'
        f"<p class=meta>Source: {escape(schema.source)}<br>Licence: {escape(schema.licence)} · "
        f"Attribution: {escape(schema.attribution)}</p>"
        f"{'<ul>' + notes + '</ul>' if notes else ''}"
        "<h2>Fields</h2><p class=meta>Rows shaded yellow hold estimated values.</p>"
        "<table><tr><th>name</th><th>type</th><th>unit</th><th>description</th><th>source / method</th></tr>"
        f"{fields}</table>"
    )
    crumbs = [("Home", base), ("Collections", f"{base}/collections?f=html"), (item.id, f"{href}?f=html")]
    return _page(item.info.title, crumbs, body, schema.attribution)


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return '<span class="meta">null</span>'
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return escape(str(value))


def items(page: FeaturePage, links: Sequence[dict[str, Any]], base: str) -> str:
    """A page of features as a table, with paging links."""
    schema = page.collection.schema
    names = [spec.name for spec in schema.fields]
    estimated = set(schema.estimated_fields)
    head = "".join(f"<th{' class=est' if n in estimated else ''}>{escape(n)}</th>" for n in names)
    href = f"{base}/collections/{escape(page.collection.id)}"
    rows = "".join(
        f'<tr><td><a href="{href}/items/{escape(str(f["id"]))}?f=html">{escape(str(f["id"]))}</a></td>'
        + "".join(f"<td>{_value(f['properties'].get(n))}</td>" for n in names)
        + "</tr>"
        for f in page.features
    )
    nav = "".join(
        f'<a href="{escape(link["href"])}">{escape(link["rel"])}</a>'
        for link in links
        if link["rel"] in ("prev", "next")
    )
    first = page.offset + 1 if page.features else 0
    body = (
        f"<p>Features {first:,}–{page.offset + page.number_returned:,} "
        f"of {page.number_matched:,} matched.</p>"
        f'<nav class="pages">{nav}</nav>'
        f"<table><tr><th>id</th>{head}</tr>{rows}</table>"
    )
    crumbs = [
        ("Home", base),
        ("Collections", f"{base}/collections?f=html"),
        (page.collection.id, f"{href}?f=html"),
        ("Items", f"{href}/items?f=html"),
    ]
    return _page(f"{page.collection.info.title}: features", crumbs, body, schema.attribution)


def item(described: Collection, feature: dict[str, Any], base: str) -> str:
    """One feature: every property with its unit and whether it is estimated."""
    schema = described.schema
    rows = "".join(
        f"<tr{' class=est' if spec.estimated else ''}><th>{escape(spec.name)}</th>"
        f"<td>{_value(feature['properties'].get(spec.name))} {escape(spec.unit or '')}</td>"
        f"<td>{'estimated' if spec.estimated else escape(spec.source or '')}</td></tr>"
        for spec in schema.fields
    )
    href = f"{base}/collections/{escape(described.id)}"
    geometry = orjson.dumps(feature["geometry"]).decode()
    body = (
        f"<table>{rows}</table><h2>Geometry (GeoJSON)</h2>"
        f'<pre style="white-space:pre-wrap;max-height:12rem;overflow:auto">{escape(geometry[:5000])}</pre>'
    )
    crumbs = [
        ("Home", base),
        ("Collections", f"{base}/collections?f=html"),
        (described.id, f"{href}?f=html"),
        ("Items", f"{href}/items?f=html"),
        (str(feature["id"]), f"{href}/items/{escape(str(feature['id']))}?f=html"),
    ]
    return _page(f"{described.info.title} {feature['id']}", crumbs, body, schema.attribution)


# --- registers: algorithm register (in Dutch, like the Algoritmeregister) and sensor register ----


def _dutch(page: str) -> str:
    """A page whose text is Dutch (screen readers and translation tools read ``lang``)."""
    return page.replace('<html lang="en">', '<html lang="nl">', 1)


def _href(url: str) -> str:
    """A link to ``url`` showing the URL itself (only http(s) URLs become links)."""
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url)}">{escape(url)}</a>'
    return escape(url)


def _contact(value: str) -> str:
    if "@" in value and not value.startswith(("https://", "http://")):
        return f'<a href="mailto:{escape(value)}">{escape(value)}</a>'
    return _href(value)


def algorithm_register(rows: Sequence[dict[str, Any]], base: str) -> str:
    """The algorithm register: every model with its status, each linking to its entry."""
    items = "".join(
        f'<tr><td><a href="{escape(row["html"])}">{escape(row["name"])}</a></td>'
        f"<td>{escape(row['status'])}</td><td>{escape(row['category'])}</td>"
        f"<td>{escape(row['description_short'])}</td>"
        f"<td>{'ja' if row['complete'] else 'nee: velden ontbreken'}</td></tr>"
        for row in rows
    )
    body = (
        "<p>Alle algoritmes en rekenmodellen van de digitale tweeling van Dordrecht, beschreven volgens de "
        "publicatiestandaard van het Algoritmeregister (versie 1.0.0). "
        f'<a href="{base}/algorithms/export">Export (JSON)</a> · '
        f'<a href="{base}/algorithms/schema">JSON Schema</a></p>'
        "<table><tr><th>Naam</th><th>Status</th><th>Publicatiecategorie</th><th>Korte omschrijving</th>"
        f"<th>Volledig</th></tr>{items}</table>"
    )
    crumbs = [("Home", base), ("Algoritmeregister", f"{base}/algorithms?f=html")]
    return _dutch(_page("Algoritmeregister van de tweeling", crumbs, body))


def algorithm_entry(document: dict[str, Any], base: str) -> str:
    """One algorithm in plain Dutch: what, why, how, human intervention, risks, data, status."""
    fields: dict[str, str] = document["entry"]

    def section(heading: str, *names: str) -> str:
        texts = "".join(f"<p>{escape(fields[name])}</p>" for name in names if fields.get(name))
        return f"<h2>{escape(heading)}</h2>{texts or '<p><em>Niet ingevuld.</em></p>'}"

    legal = section("Wettelijke basis", "legal_basis")
    if fields.get("legal_basis_link"):
        title = fields.get("legal_basis_title") or fields["legal_basis_link"]
        legal += f'<p><a href="{escape(fields["legal_basis_link"])}">{escape(title)}</a></p>'
    history_rows = "".join(
        f"<tr><td>{escape(change['at'])}</td><td>{escape(change['status'])}</td>"
        f"<td>{escape(', '.join(change['by']))}</td><td>{escape(change['review_id'] or '-')}</td></tr>"
        for change in document["status_history"]
    )
    history = (
        f"<table><tr><th>Datum</th><th>Status</th><th>Door (rol)</th><th>Ethische toets</th></tr>"
        f"{history_rows}</table>"
        if history_rows
        else "<p>Nog geen wijzigingen: het model is in ontwikkeling sinds de eerste registratie.</p>"
    )
    problems = ""
    if document["problems"]:
        listed = "".join(
            f"<li><code>{escape(p['field'])}</code>: {escape(p['message'])}</li>"
            for p in document["problems"]
        )
        problems = (
            "<h2>Deze registratie is niet volledig</h2><p>Zolang deze velden ontbreken of niet kloppen, "
            f"kan het model niet in gebruik worden genomen.</p><ul>{listed}</ul>"
        )
    facts = [
        ("Organisatie", escape(fields.get("organization", ""))),
        ("Thema", escape(fields.get("theme", ""))),
        ("Publicatiecategorie", escape(fields.get("publication_category", ""))),
        ("Begindatum", escape(fields.get("start_date", ""))),
        ("Einddatum", escape(fields.get("end_date", "-"))),
        ("Leverancier", escape(fields.get("supplier", ""))),
        ("Contact", _contact(fields.get("contact", ""))),
        ("Meer informatie", _href(fields.get("link", "-"))),
        ("Broncode", _href(fields.get("source_code_link", "-"))),
    ]
    fact_rows = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in facts)
    body = (
        f"<p><strong>Status: {escape(document['status'])}</strong></p>{problems}"
        + section("Wat doet het?", "description_short")
        + section("Waarom?", "purpose_and_impact")
        + section("Hoe werkt het?", "technical_operation")
        + section("Menselijke tussenkomst", "human_intervention")
        + section("Risico's en hoe we ermee omgaan", "risk_management")
        + section("Afwegingen", "considerations")
        + section("Welke data?", "data")
        + legal
        + section("Impacttoetsen", "impact_assessments", "impact_assessment_explanation")
        + f"<h2>Status en geschiedenis</h2>{history}"
        + f"<h2>Gegevens van de registratie</h2><table>{fact_rows}</table>"
        + f'<p class="meta"><a href="{escape(base)}/algorithms/{escape(document["id"])}">'
        "Deze registratie als JSON</a> · volgens de publicatiestandaard van het Algoritmeregister 1.0.0</p>"
    )
    crumbs = [
        ("Home", base),
        ("Algoritmeregister", f"{base}/algorithms?f=html"),
        (document["id"], f"{base}/algorithms/{document['id']}?f=html"),
    ]
    return _dutch(_page(fields.get("name") or document["id"], crumbs, body))


def sensor_register(entries: Sequence[dict[str, Any]], base: str, *, public_only: bool) -> str:
    """The sensor register: per sensor its purpose, owner, personal data, legal basis, retention."""

    def personal(entry: dict[str, Any]) -> str:
        if entry["personal_data"] is None:
            return "unknown"
        if not entry["personal_data"]:
            return "no"
        kinds = "; ".join(entry.get("personal_data_kinds") or [])
        return f"<strong>yes</strong>: {escape(kinds)}" if kinds else "<strong>yes</strong>"

    rows = "".join(
        f"<tr><td>{escape(str(entry['name']))}</td>"
        + (
            f"<td colspan=5><em>{escape('; '.join(entry['problems']))}</em></td>"
            if entry["purpose"] is None
            else f"<td>{escape(str(entry['purpose']))}</td><td>{escape(str(entry['owner'] or ''))}</td>"
            f"<td>{personal(entry)}</td><td>{escape(str(entry['legal_basis'] or ''))}</td>"
            f"<td>{escape(str(entry['retention'] or ''))}</td>"
        )
        + ("" if public_only else f"<td>{escape(str(entry.get('status') or '-'))}</td>")
        + "</tr>"
        for entry in entries
    )
    status_head = "" if public_only else "<th>register status</th>"
    view = (
        "Public view: sensors waiting for review are not listed."
        if public_only
        else "Full view: every sensor, including those waiting for the ethics committee's review."
    )
    body = (
        "<p>Every sensor of the twin: why it is there, who owns it, whether it can capture personal data, "
        f"on which legal basis and how long its data is kept. {escape(view)}</p>"
        "<table><tr><th>sensor</th><th>purpose</th><th>owner</th><th>personal data</th><th>legal basis</th>"
        f"<th>retention</th>{status_head}</tr>{rows}</table>"
    )
    crumbs = [("Home", base), ("Sensor register", f"{base}/registers/sensors?f=html")]
    return _page("Sensor register", crumbs, body)


# --- dataset catalogue ---------------------------------------------------------------------------

_CLASSIFICATION_NOTE = {
    "open": "open: anyone may read it",
    "internal": "internal: municipal staff and the ethics committee",
    "confidential": "confidential: analysts, data owners and administrators (every read audited)",
    "personal": "personal data: analysts, data owners and administrators in detail (audited); "
    "everyone else only aggregates with small-cell suppression",
}


def _catalogue_link(url: str, text: str | None = None) -> str:
    """``url`` as a link when it is a web address, else as text."""
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url)}">{escape(text or url)}</a>'
    return escape(text or url)


def catalogue(documents: Sequence[dict[str, Any]], base: str) -> str:
    """The dataset catalogue: every dataset with owner, licence and classification."""
    rows = "".join(
        f'<tr><td><a href="{escape(base)}/catalogue/{escape(doc["id"])}?f=html">{escape(doc["id"])}</a></td>'
        f"<td>{escape(doc['title'])}</td><td>{escape(doc['kind'])}</td><td>{escape(doc['owner'])}</td>"
        f"<td>{escape(doc['licence'])}</td><td>{escape(doc['classification'])}"
        f"{' (personal fields)' if doc['personal_data'] and doc['classification'] != 'personal' else ''}</td>"
        f"<td>{escape(doc['update_frequency'])}</td></tr>"
        for doc in documents
    )
    body = (
        "<p>Every dataset the twin holds: who owns it, where it comes from, its licence, how "
        "sensitive it is and how it was made. Entries of personal datasets are public too: that "
        "they exist, why and under which legal basis is public information.</p>"
        "<table><tr><th>id</th><th>title</th><th>kind</th><th>owner</th><th>licence</th>"
        f"<th>classification</th><th>updated</th></tr>{rows}</table>"
        f'<p class=meta><a href="{escape(base)}/catalogue?f=json">JSON</a></p>'
    )
    return _page("Dataset catalogue", [("Home", base), ("Catalogue", f"{base}/catalogue?f=html")], body)


def _catalogue_facts(doc: dict[str, Any]) -> str:
    licence = escape(doc["licence"]) + (f"<br>{escape(doc['licence_note'])}" if doc["licence_note"] else "")
    facts = [
        ("Kind", escape(doc["kind"])),
        ("Owner", escape(doc["owner"])),
        ("Steward", escape(doc["steward"])),
        ("Source", _catalogue_link(doc["source"]["link"], doc["source"]["title"])),
        ("Licence", licence),
        ("Attribution", escape(doc["attribution"])),
        ("Update frequency", escape(doc["update_frequency"])),
        ("Classification", escape(_CLASSIFICATION_NOTE.get(doc["classification"], doc["classification"]))),
    ]
    if doc["disclosure_control"]:
        facts.append(("Disclosure control", escape(doc["disclosure_control"])))
    if doc["synthetic"]:
        facts.append(("Synthetic", "yes: " + escape(doc["synthetic_method"] or "")))
    if doc["documentation"]:
        facts.append(("Documentation", f"<code>{escape(doc['documentation'])}</code>"))
    if doc["endpoints"]:
        facts.append(("Served at", "<br>".join(_catalogue_link(url) for url in doc["endpoints"])))
    rows = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in facts)
    return f"<table>{rows}</table>"


def _catalogue_privacy(doc: dict[str, Any]) -> str:
    parts = []
    if doc["personal_data"] or doc["legal_basis"]:
        heading = "Personal data" if doc["personal_data"] else "Legal basis"
        parts.append(
            f"<h2>{heading}</h2><table>"
            f"<tr><th>Legal basis</th><td>{escape(doc['legal_basis'] or '')}</td></tr>"
            f"<tr><th>Purpose</th><td>{escape(doc['purpose'] or '')}</td></tr>"
            f"<tr><th>Retention</th><td>{escape(doc['retention'] or '')}</td></tr></table>"
        )
    if doc["fields"]:
        rows = "".join(
            f"<tr><td><code>{escape(name)}</code></td><td>{escape(spec['classification'])}</td>"
            f"<td>{escape(spec['reason'])}</td></tr>"
            for name, spec in doc["fields"].items()
        )
        parts.append(
            "<h2>Fields more sensitive than the dataset</h2>"
            "<p class=meta>Left out for roles whose clearance does not cover them.</p>"
            f"<table><tr><th>field</th><th>classification</th><th>why</th></tr>{rows}</table>"
        )
    if doc["estimated"]:
        rows = "".join(
            f"<tr class=est><td>{escape(', '.join(item['fields']) or 'every value')}</td>"
            f"<td>{escape(item['method'])}</td><td>{escape(item['documentation'] or '')}</td></tr>"
            for item in doc["estimated"]
        )
        parts.append(
            "<h2>Estimated values</h2><table><tr><th>fields</th><th>method</th><th>documentation</th></tr>"
            f"{rows}</table>"
        )
    return "".join(parts)


def _catalogue_lineage(doc: dict[str, Any], base: str) -> str:
    lineage = doc["lineage"]
    parents = "".join(
        f'<li><a href="{escape(base)}/catalogue/{escape(parent)}?f=html">{escape(parent)}</a></li>'
        for parent in lineage["derived_from"]
    )
    inputs = "".join(
        f"<tr><td><code>{escape(item['file'])}</code></td><td>{escape(item['raw'])}"
        f"{' (' + escape(item['raw_part']) + ')' if item['raw_part'] else ''}</td>"
        f"<td>{escape(item['source'])}</td>"
        f"<td>{'' if item['rows'] is None else format(item['rows'], ',')}</td>"
        f"<td><code>{escape(item['sha256'])}</code></td></tr>"
        for item in lineage["inputs"]
    )
    sources = "".join(
        f"<li>{_catalogue_link(source['link'], source['title'])} ({escape(source['owner'])})</li>"
        for source in lineage["sources"]
    )
    steps = "".join(
        f"<li><code>{escape(step['code'])}</code>: {escape(step['description'])}</li>"
        for step in lineage["steps"]
    )
    href = f"{escape(base)}/catalogue/{escape(doc['id'])}"
    text = "<h2>Lineage</h2>"
    if parents:
        text += f"<p>Derived from:</p><ul>{parents}</ul>"
    if inputs:
        text += (
            "<p>Input files (shipped in <code>src/tweeling/data/dordrecht</code>, made from the originals "
            "by <code>scripts/build_demo_data.py</code>):</p><table><tr><th>file</th><th>original</th>"
            f"<th>source</th><th>rows</th><th>sha256</th></tr>{inputs}</table>"
        )
    if sources:
        text += f"<p>Read directly from:</p><ul>{sources}</ul>"
    if steps:
        text += f"<p>Processing steps:</p><ol>{steps}</ol>"
    links = f'<a href="{href}/lineage">Lineage graph (JSON)</a> · <a href="{href}">JSON</a>'
    return f"{text}<p class=meta>{links}</p>"


def catalogue_entry(document: dict[str, Any], base: str) -> str:
    """One dataset: description, owner, source, licence, classification, legal basis and purpose
    of personal data, sensitive fields, estimated values and lineage."""
    body = (
        f"<p>{escape(document['description'])}</p>{_catalogue_facts(document)}"
        f"{_catalogue_privacy(document)}{_catalogue_lineage(document, base)}"
    )
    href = f"{base}/catalogue/{document['id']}?f=html"
    crumbs = [("Home", base), ("Catalogue", f"{base}/catalogue?f=html"), (document["id"], href)]
    return _page(document["title"], crumbs, body, document["attribution"])
