"""Self-contained interactive HTML of a pydeck map: no CDN, no tiles, no token.

``Deck.to_html(offline=True)`` inlines the deck.gl bundle shipped in the pydeck wheel but the
template still links mapbox-gl, bootstrap, font-awesome and two stylesheets from CDNs. This
module removes every external ``<script src>`` and ``<link href>`` so the file opens on a
locked-down laptop with no network, and adds a title, legend and source line.
"""

from __future__ import annotations

import re

_EXTERNAL = re.compile(
    r"<(script|link)\b[^>]*(src|href)\s*=\s*[\"']https?://[^\"']*[\"'][^>]*>(\s*</script>)?",
    re.IGNORECASE)


def strip_external(html: str) -> str:
    """Remove ``<script>``/``<link>`` tags that load anything over the network."""
    return _EXTERNAL.sub("", html)


def deck_to_offline_html(deck, *, title: str, legend: str, source: str,
                         marking: str | None = None) -> str:
    """Render a deck as one self-contained HTML page.

    Parameters
    ----------
    deck : pydeck.Deck
    title : str
    legend : str
        HTML of the legend (see :func:`placesim.maps.legend_html`).
    source : str
        Source and copyright line.
    marking : str, optional
        Protective marking banner.

    Returns
    -------
    str
    """
    html = deck.to_html(as_string=True, offline=True, notebook_display=False)
    html = strip_external(html)
    banner = (f'<div style="text-align:center;font-weight:bold;background:#fff">{marking}'
              "</div>") if marking else ""
    header = (f'{banner}<div style="position:absolute;top:8px;left:8px;z-index:10;'
              f'background:rgba(255,255,255,0.92);padding:8px;max-width:320px;'
              f'font-family:Arial,sans-serif"><h1 style="font-size:16px;margin:0 0 6px">'
              f'{title}</h1>{legend}<p style="font-size:11px">{source}</p></div>')
    html = re.sub(r"<body([^>]*)>", lambda m: f"<body{m.group(1)}>{header}", html, count=1)
    html = re.sub(r"<title>.*?</title>", f"<title>{title}</title>", html, count=1,
                  flags=re.DOTALL)
    return html
