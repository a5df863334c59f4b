"""The dataset catalogue (placeholder; the full catalogue with lineage replaces this)."""

from __future__ import annotations

from tweeling.governance.roles import Classification, Principal


class Catalogue:
    """Per dataset: metadata, classification (also per field) and lineage."""

    def classification(self, dataset_id: str) -> Classification:
        """The classification of a dataset; unknown ids are open (the route answers 404 later)."""
        return Classification.OPEN

    def hidden_fields(self, dataset_id: str, principal: Principal) -> frozenset[str]:
        """Fields of the dataset that ``principal`` may not see in detail."""
        return frozenset()
