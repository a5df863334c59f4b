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
