"""``/api/v1/search`` paged with ``offset`` and ``limit``: every result once, ties in path order."""

from __future__ import annotations

import random

from conftest import api_save


def test_api_pages_through_tied_results_exactly_once_in_path_order(client, token):
    paths = [f"lieux/fiche-{n:02d}" for n in range(30)]
    shuffled = paths[:]
    random.Random(5).shuffle(shuffled)
    for path in shuffled:  # thirty pages with the same title and text: thirty equal scores
        api_save(client, token, path, "# Fiche\n\nUn quokkarium au jardin partagé.\n")
    for order in ("relevance", "date"):
        found: list[str] = []
        for offset in range(0, 35, 7):
            body = client.get(
                "/api/v1/search", query_string={"q": "quokkarium", "limit": 7, "offset": offset, "order": order}
            ).json
            assert body["total"] == 30
            found += [result["path"] for result in body["results"]]
        if order == "relevance":
            assert found == paths
        else:  # newest first, saves of the same second in path order: each page once all the same
            assert len(found) == 30 and sorted(found) == paths
