"""Links in an answer: full URLs, markdown links and bare domains ("evil.example/x"). A link may
go only to a host the sources name or the settings allow (`allowed_link_hosts`, the product
pages' and the server's own hosts); a model that follows injected text must not send customers
to a phishing page. Relative links ("/#product-X") stay on the shop's own site."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# Common top-level domains for bare hosts; a bare name with a path ("evil.example/x") counts
# whatever it ends in. A list rather than the public suffix list, which would be downloaded.
_TLD_NAMES = (
    "com net org info biz io co me app dev shop store online site xyz top club link click "
    "nl be de lu fr uk eu es it at ch pl se dk no fi ie pt us ca au nz ru cn jp in br tk ml "
    "ga cf gq ly to gg gl sh ws cc tv example test local invalid"
)
TLDS = frozenset(_TLD_NAMES.split())
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]\"'`]+", re.I)
_BARE = re.compile(
    r"(?<![@\w.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24})(?![\w-]|\.[a-z0-9])(/)?",
    re.I,
)


def hosts(text: str) -> set[str]:
    """The hosts `text` links to, lower case, without a leading "www."."""
    found = {_host(m.group(0)) for m in _URL.finditer(text)}
    for m in _BARE.finditer(text):
        name = m.group(1).lower()
        if m.group(2) or name.rsplit(".", 1)[-1] in TLDS:
            found.add(_host(name))
    return {h for h in found if h}


def _host(link: str) -> str:
    if not re.match(r"https?://", link, re.I):
        link = "http://" + link
    host = (urlsplit(link).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


def allowed(host: str, hosts_allowed: Iterable[str]) -> bool:
    """`host` is an allowed host or one of its subdomains."""
    return any(host == h or host.endswith("." + h) for h in hosts_allowed)


def host_of(url: str | None) -> str | None:
    """The host of a setting's URL ("https://shop.example/p/{sku}"), None for a relative one."""
    if not url or not re.match(r"https?://", url, re.I):
        return None
    return _host(url) or None


def known_hosts(sources: Iterable[str], link_hosts: Iterable[str] = ()) -> frozenset[str]:
    """The hosts an answer may link to: those the sources name, and the allow-list."""
    known = {h.strip().lower().removeprefix("www.") for h in link_hosts if h.strip()}
    for source in sources:
        known |= hosts(source)
    return frozenset(known)


def unsupported(text: str, known: Iterable[str]) -> list[str]:
    """The hosts `text` links to that are not `known` (nor their subdomains)."""
    return sorted(f"link {h}" for h in hosts(text) if not allowed(h, known))


def could_be_link(word: str) -> bool:
    """Whether a word may be (the start of) a link, for holding it back while streaming."""
    word = word.strip("([<\"'")
    return bool(re.search(r"[./:]\w|^www|^https?|\]\(", word, re.I))
