"""Sources, licences (SPDX ids) and attributions of the data the city model is built from.

One place, so that every layer schema names the same source the same way.
"""

from __future__ import annotations

OSM_SOURCE = "OpenStreetMap via OpenMapTiles z14 vector tiles (Geofabrik Zuid-Holland extract), August 2021"
OSM_LICENCE = "ODbL-1.0"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"

CBS_BUURTEN_SOURCE = "CBS / Kadaster, Wijk- en buurtkaart 2020 (release v1), gemeente Dordrecht GM0505"
CBS_KWB_2024_SOURCE = "CBS StatLine 85984NED Kerncijfers wijken en buurten 2024"
CBS_LICENCE = "CC-BY-4.0"
CBS_SUPPRESSED = -99999999
"""CBS marker for a secret or unavailable value."""
CBS_ATTRIBUTION = "CBS, Kadaster"

BAG_SOURCE = "BAG verblijfsobjecten 2021 (Kadaster) joined to CBS buurten 2020 (TNO export)"
BAG_LICENCE = "CC0-1.0"
