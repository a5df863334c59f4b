"""One store suite, run on DuckDB and on PostGIS: round trips, bbox queries, transactions, safety."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tweeling.citymodel.areas import build_buurten
from tweeling.core.errors import InvalidInputError, NotFoundError, StoreError
from tweeling.core.schema import FieldSpec, LayerSchema
from tweeling.store import LayerData, Store, open_store

POINTS_SCHEMA = LayerSchema(
    name="points",
    title="Points",
    description="test points",
    geometry_type="Point",
    fields=[
        FieldSpec(name="pid", type="integer", description="id"),
        FieldSpec(name="label", type="string", description="label"),
        FieldSpec(name="value", type="number", description="value", unit="m", estimated=True, method="guess"),
        FieldSpec(name="flag", type="boolean", description="flag"),
        FieldSpec(name="day", type="date", description="day"),
    ],
    source="test",
    licence="CC0",
    attribution="test",
    primary_key="pid",
)


def points_layer(n: int = 5) -> LayerData:
    frame = gpd.GeoDataFrame(
        {
            "pid": range(1, n + 1),
            "label": [f"p{i}" if i % 2 else None for i in range(n)],
            "value": [float(i) / 2 if i != 3 else None for i in range(n)],
            "flag": [bool(i % 2) for i in range(n)],
            "day": pd.to_datetime([dt.date(2020, 1, 1 + i) for i in range(n)]),
        },
        geometry=[shapely.Point(105_000 + 100 * i, 423_000 + 100 * i) for i in range(n)],
        crs=28992,
    )
    return LayerData(POINTS_SCHEMA, frame, {"note": "synthetic test layer"})


def test_round_trip_keeps_values_types_and_geometry(store: Store) -> None:
    layer = points_layer()
    store.write_layers([layer])
    back = store.read_layer("points")
    assert isinstance(back, gpd.GeoDataFrame)
    assert back.crs.to_epsg() == 28992
    assert back["pid"].tolist() == [1, 2, 3, 4, 5]
    assert back["label"].isna().tolist() == [True, False, True, False, True]
    assert back["value"].iloc[1] == 0.5 and pd.isna(back["value"].iloc[3])
    assert back["flag"].tolist() == [False, True, False, True, False]
    assert [d.isoformat() for d in pd.to_datetime(back["day"]).dt.date] == [
        f"2020-01-0{i}" for i in range(1, 6)
    ]
    assert back.geometry.geom_equals_exact(layer.frame.geometry, tolerance=1e-9).all()


def test_catalogue_keeps_schema_count_extent_and_report(store: Store) -> None:
    store.write_layers([points_layer()])
    info = store.layer("points")
    assert info.feature_count == 5
    assert info.srid == 28992
    assert info.extent == pytest.approx((105_000, 423_000, 105_400, 423_400))
    assert store.extent("points") == pytest.approx(info.extent)
    assert info.schema.field("value").estimated and info.schema.field("value").unit == "m"
    assert info.schema.estimated_fields == ["value"]
    assert info.report == {"note": "synthetic test layer"}


def test_bbox_count_and_read(store: Store) -> None:
    store.write_layers([points_layer(10)])
    bbox = (105_050, 423_050, 105_350, 423_350)
    assert store.count("points", bbox=bbox) == 3
    assert store.read_layer("points", bbox=bbox)["pid"].tolist() == [2, 3, 4]
    with pytest.raises(InvalidInputError, match="min <= max"):
        store.count("points", bbox=(2, 2, 1, 1))


def test_write_is_all_or_nothing(store: Store) -> None:
    store.write_layers([points_layer(3)])
    good = points_layer(7)
    bad_schema = POINTS_SCHEMA.model_copy(update={"name": "broken"})
    bad_frame = points_layer(2).frame.assign(pid=["not", "numbers"])
    with pytest.raises(InvalidInputError, match="pid"):
        store.write_layers([good, LayerData(bad_schema, bad_frame)])
    assert [info.name for info in store.list_layers()] == ["points"]
    assert store.count("points") == 3


def test_replace_is_refused_unless_asked(store: Store) -> None:
    store.write_layers([points_layer(3)])
    with pytest.raises(InvalidInputError, match="already exists"):
        store.write_layers([points_layer(4)], replace=False)
    assert store.count("points") == 3
    store.write_layers([points_layer(4)], replace=True)
    assert store.count("points") == 4


@pytest.mark.parametrize("name", ["Points", "points; DROP TABLE x", "1abc", "tweeling_layers", ""])
def test_unsafe_layer_names_are_rejected(store: Store, name: str) -> None:
    layer = points_layer()
    layer.schema = POINTS_SCHEMA.model_copy(update={"name": name})
    with pytest.raises(InvalidInputError):
        store.write_layers([layer])
    assert store.list_layers() == []


def test_unknown_layer_and_column(store: Store) -> None:
    store.write_layers([points_layer()])
    with pytest.raises(NotFoundError, match="points"):
        store.layer("nope")
    with pytest.raises(InvalidInputError, match="columns: pid"):
        store.read_layer("points", columns=["pid", "missing"])


def test_drop_layer(store: Store) -> None:
    store.write_layers([points_layer()])
    store.drop_layer("points")
    assert not store.has_layer("points")
    with pytest.raises(NotFoundError):
        store.count("points")


def test_table_without_geometry(store: Store) -> None:
    schema = LayerSchema(
        name="daily",
        title="Daily",
        description="table",
        geometry_type=None,
        fields=[
            FieldSpec(name="date", type="date", description="day"),
            FieldSpec(name="temp_c", type="number", description="t", unit="degC"),
        ],
        source="test",
        licence="CC0",
        attribution="test",
        temporal_field="date",
    )
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=4), "temp_c": [1.5, 2.0, None, -3.25]})
    store.write_layers([LayerData(schema, frame)])
    back = store.read_layer("daily")
    assert not isinstance(back, gpd.GeoDataFrame)
    assert back["temp_c"].tolist()[:2] == [1.5, 2.0] and back["temp_c"].iloc[3] == -3.25
    assert store.layer("daily").extent is None and store.extent("daily") is None
    with pytest.raises(InvalidInputError, match="no geometry"):
        store.count("daily", bbox=(0, 0, 1, 1))


def test_wrong_crs_is_refused(store: Store) -> None:
    layer = points_layer()
    layer.frame = layer.frame.to_crs(4326)
    with pytest.raises(InvalidInputError, match="EPSG:28992"):
        store.write_layers([layer])


def test_real_buurten_population_and_bbox_match_geopandas(store: Store, demo_dir) -> None:
    buurten = build_buurten(gpd.read_parquet(demo_dir / "cbs_buurten_2020.parquet"))
    store.write_layers([LayerData(_buurten_schema(), buurten)])
    back = store.read_layer("buurten")
    assert len(back) == 130
    assert int(back["aant_inw"].sum()) == 119_030
    assert back["aant_inw"].isna().sum() == 1  # the water buurt, suppressed by CBS
    centre = (104_500.0, 422_500.0, 106_500.0, 424_500.0)
    expected = int(buurten.intersects(shapely.box(*centre)).sum())
    assert store.count("buurten", bbox=centre) == expected
    assert expected > 5
    assert back.geometry.area.sum() == pytest.approx(buurten.geometry.area.sum(), rel=1e-9)


def test_read_only_store_refuses_writes(store_url: str) -> None:
    with open_store(store_url) as writable:
        writable.write_layers([points_layer()])
    with open_store(store_url, read_only=True) as read_only, pytest.raises(Exception, match=r"(?i)read.only"):
        read_only.write_layers([points_layer(2)])
    with open_store(store_url, read_only=True) as read_only:
        assert read_only.count("points") == 5


def test_missing_duckdb_file_read_only_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(StoreError, match="tweeling demo"):
        open_store(f"duckdb://{tmp_path / 'absent.duckdb'}", read_only=True)


def _buurten_schema() -> LayerSchema:
    from tweeling.citymodel.areas import BUURTEN_SCHEMA

    return BUURTEN_SCHEMA
