"""Self-contained interactive HTML of a map: no CDN, no tiles, no token, under 3 MB.

pydeck's own ``to_html(offline=True)`` inlines the 4.3 MB deck.gl bundle but keeps links to
mapbox-gl, bootstrap, font-awesome and stylesheets on CDNs. This module writes its own page
instead: the bundle shipped in the pydeck wheel is stored gzip-compressed (base64) and
unpacked by the browser's ``DecompressionStream``, then the same deck JSON the app shows
(districts, arcs, hub rings, labels, London inset) is drawn with the legend, title, source
line and protective marking beside it. :func:`external_references` checks the result with an
HTML parser (not a regex), so any reference to another host is caught.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html as html_lib
import re
from html.parser import HTMLParser
from pathlib import Path

from .errors import PlacesimError


@functools.cache
def _bundle_b64() -> str:
    """The deck.gl bundle shipped with pydeck, gzip-compressed and base64-encoded."""
    import pydeck

    path = Path(pydeck.__file__).parent / "nbextension" / "static" / "index.js"
    return base64.b64encode(gzip.compress(path.read_bytes(), 9, mtime=0)).decode("ascii")


_LOADER = """
(async function () {
  const bytes = Uint8Array.from(atob(document.getElementById("deck-bundle").textContent),
                                c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  (0, eval)(await new Response(stream).text());
  const jsonInput = JSON.parse(document.getElementById("deck-spec").textContent);
  const tooltip = JSON.parse(document.getElementById("deck-tooltip").textContent);
  window.deckInstance = createDeck({container: document.getElementById("deck-container"),
                                    jsonInput, tooltip, customLibraries: null,
                                    configuration: null});
  document.body.dataset.deckReady = "1";
})().catch(e => { document.getElementById("deck-error").textContent = String(e); });
"""

_STYLE = """
body{margin:0;padding:0;overflow:hidden;font-family:Arial,Helvetica,sans-serif;color:#000}
#deck-container{position:absolute;top:0;left:0;width:calc(100vw - 330px);height:100vh}
#panel{position:absolute;top:0;right:0;width:314px;height:100vh;overflow:auto;padding:8px;
background:#fff;border-left:1px solid #999;box-sizing:border-box}
#panel h1{font-size:16px;margin:0 0 4px}#panel p{font-size:11px;margin:6px 0}
.marking{font-weight:bold;text-align:center;font-size:13px}
#inset-frame{position:absolute;pointer-events:none;border:1.5px solid #000}
#inset-title{position:absolute;font-size:12px;font-weight:bold;background:#fff;padding:0 3px}
#deck-error{color:#b00;position:absolute;bottom:4px;left:4px}
"""


def _json_script(element_id: str, payload: str) -> str:
    safe = payload.replace("</", "<\\/")  # cannot end the script early; JSON allows "\\/"
    return f'<script type="application/json" id="{element_id}">{safe}</script>'


def deck_page(deck_json: str, tooltip_json: str, *, title: str, panel_html: str,
              marking: str | None = None, inset: dict | None = None) -> str:
    """One self-contained HTML page around a deck JSON spec.

    Parameters
    ----------
    deck_json, tooltip_json : str
        The deck spec and its tooltip (as pydeck serialises them).
    title : str
    panel_html : str
        Legend and notes shown in the side panel (already HTML).
    marking : str, optional
        Protective marking, at the top and bottom of the panel.
    inset : dict, optional
        ``x, y, width, height`` (CSS percentages) of the inset view, framed and titled.

    Returns
    -------
    str
    """
    mark = (f'<div class="marking">{html_lib.escape(marking)}</div>' if marking else "")
    frame = ""
    if inset:
        frame = (f'<div id="inset-frame" style="left:{_pct(inset["x"], "w")};'
                 f'top:{_pct(inset["y"], "h")};width:{_pct(inset["width"], "w")};'
                 f'height:{_pct(inset["height"], "h")}"></div>'
                 f'<div id="inset-title" style="left:calc({_pct(inset["x"], "w")} + 4px);'
                 f'top:calc({_pct(inset["y"], "h")} + 4px)">London</div>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html_lib.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f'<div id="deck-container"></div>{frame}<div id="deck-error"></div>'
            f'<div id="panel">{mark}<h1>{html_lib.escape(title)}</h1>{panel_html}{mark}</div>'
            f'<script type="application/octet-stream" id="deck-bundle">{_bundle_b64()}'
            "</script>" + _json_script("deck-spec", deck_json)
            + _json_script("deck-tooltip", tooltip_json)
            + f"<script>{_LOADER}</script></body></html>\n")


def _pct(value: str, axis: str) -> str:
    """A view's CSS percentage as a length of the map area (which leaves room for the
    panel)."""
    n = float(str(value).rstrip("%"))
    return f"calc((100vw - 330px) * {n / 100:.4f})" if axis == "w" else f"{n:g}vh"


def deck_to_offline_html(deck, *, title: str, legend: str, source: str,
                         marking: str | None = None, notes: str = "") -> str:
    """Render a pydeck deck as one self-contained page (no network needed to open it).

    Parameters
    ----------
    deck : pydeck.Deck
    title : str
    legend : str
        HTML of the legend (see :func:`placesim.maps.legend_html`).
    source : str
        Source and copyright line.
    marking : str, optional
        Protective marking.
    notes : str
        Extra plain text under the legend.

    Returns
    -------
    str
    """
    import json

    spec = json.loads(deck.to_json())
    tooltip = json.dumps(getattr(deck, "_tooltip", True))  # pydeck keeps it private
    inset = next((v for v in spec.get("views", []) if v.get("id") == "london"), None)
    panel = legend + (f"<p>{html_lib.escape(notes)}</p>" if notes else "") + \
        f"<p>{html_lib.escape(source)}</p>"
    page = deck_page(json.dumps(spec, separators=(",", ":")), tooltip, title=title,
                     panel_html=panel, marking=marking, inset=inset)
    bad = external_references(page)
    if bad:
        raise PlacesimError(f"the map's HTML refers to other hosts: {', '.join(bad[:3])}")
    return page


def map_html(pkg, view) -> str:
    """The offline HTML of a :class:`placesim.maps.MapView`: the app's map, in one file."""
    from .maps import build_deck, legend_html

    deck = build_deck(pkg, view)
    notes = ("Rings mark hubs and campuses; lines run from London to the places posts moved "
             "to. Point at a district or ring for its figures. The box shows London, drawn "
             "larger in the inset.")
    title = view.spec.title + (f" — {view.spec.subtitle}" if view.spec.subtitle else "")
    return deck_to_offline_html(deck, title=title, legend=legend_html(view),
                                source=view.source, marking=view.marking, notes=notes)


_URL_IN_CSS = re.compile(r"url\(\s*['\"]?([^'\")\s]+)", re.IGNORECASE)
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


class _References(HTMLParser):
    """Collects every URL an HTML document would load or link to."""

    ATTRS = frozenset({"src", "href", "srcset", "data", "poster", "action", "formaction",
                       "background", "cite", "manifest", "xlink:href"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "srcset":
                self.urls.extend(u.strip().split(" ")[0] for u in value.split(","))
            elif name in self.ATTRS:
                self.urls.append(value)
            elif name == "style":
                self.urls.extend(_URL_IN_CSS.findall(value))
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls.extend(_URL_IN_CSS.findall(data))
            self.urls.extend(re.findall(r"@import\s+['\"]([^'\"]+)", data))


def external_references(html: str) -> list[str]:
    """Every reference in ``html`` to another host (``http://``, ``https://``, ``//host``,
    any other scheme but ``data:`` and ``blob:``), found with an HTML parser.

    Examples
    --------
    >>> external_references('<link rel=stylesheet href=https://cdn.example/x.css>')
    ['https://cdn.example/x.css']
    >>> external_references('<img src="data:image/png;base64,AAAA">')
    []
    """
    p = _References()
    p.feed(html)
    p.close()
    return [u for u in p.urls if _REMOTE.match(u) or (
        re.match(r"^\s*[a-z][a-z0-9+.-]*:", u, re.IGNORECASE)
        and not re.match(r"^\s*(data|blob|about|javascript|#)", u, re.IGNORECASE))]
