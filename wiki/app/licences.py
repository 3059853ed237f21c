"""Open licences a page may name in its front matter, by SPDX id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    spdx: str
    name: str
    short: str
    url: str


LICENCES: dict[str, Licence] = {
    licence.spdx.casefold(): licence
    for licence in (
        Licence(
            "CC-BY-SA-4.0",
            "Creative Commons Attribution – Partage dans les mêmes conditions 4.0 International",
            "CC BY-SA 4.0",
            "https://creativecommons.org/licenses/by-sa/4.0/deed.fr",
        ),
        Licence(
            "CC-BY-4.0",
            "Creative Commons Attribution 4.0 International",
            "CC BY 4.0",
            "https://creativecommons.org/licenses/by/4.0/deed.fr",
        ),
        Licence(
            "CC0-1.0",
            "Creative Commons Zero 1.0 Universel (domaine public)",
            "CC0 1.0",
            "https://creativecommons.org/publicdomain/zero/1.0/deed.fr",
        ),
        Licence(
            "etalab-2.0",
            "Licence Ouverte / Open Licence 2.0 (Etalab)",
            "Licence Ouverte 2.0",
            "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        ),
        Licence("ODbL-1.0", "Open Database License 1.0", "ODbL 1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
        Licence("LAL-1.3", "Licence Art Libre 1.3", "Art Libre 1.3", "https://artlibre.org/licence/lal/"),
        Licence(
            "CC-BY-SA-3.0",
            "Creative Commons Attribution – Partage dans les mêmes conditions 3.0",
            "CC BY-SA 3.0",
            "https://creativecommons.org/licenses/by-sa/3.0/deed.fr",
        ),
        Licence(
            "CC-BY-3.0", "Creative Commons Attribution 3.0", "CC BY 3.0", "https://creativecommons.org/licenses/by/3.0/deed.fr"
        ),
        Licence(
            "GFDL-1.3-or-later",
            "GNU Free Documentation License 1.3 ou ultérieure",
            "GFDL 1.3+",
            "https://www.gnu.org/licenses/fdl-1.3.html",
        ),
        Licence(
            "PDDL-1.0",
            "Open Data Commons Public Domain Dedication and License 1.0",
            "PDDL 1.0",
            "https://opendatacommons.org/licenses/pddl/1-0/",
        ),
    )
}


def find_licence(spdx: str | None) -> Licence | None:
    """The licence with this SPDX id (ids are case-insensitive), or None."""
    if not isinstance(spdx, str):
        return None
    return LICENCES.get(spdx.strip().casefold())


def known_ids() -> list[str]:
    return [licence.spdx for licence in LICENCES.values()]
