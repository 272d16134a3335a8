"""The app's maps send their layers' data apart from the deck, served by the app itself.

Streamlit's map element reads a deck's JSON with JSON5, a parser written in JavaScript that
reads a character at a time: the national map's 1 MB took about 0.15 s of the browser's main
thread (against 6 ms for the browser's own JSON parser), at every rerun that changed the map:
each year, edit or scenario. Served apart, at the app's own media endpoint (the one
``st.image`` uses: same server, nothing leaves the machine), the layers' data is fetched by
deck.gl and read with the browser's own parser, and data that has not changed (the borders,
at every redraw) keeps its URL, which deck.gl neither fetches nor lays out again.

Small data stays in the deck (:data:`APART_FROM`): deck.gl loads fetched data asynchronously
and draws it a frame or more later, and where frames are slow (software WebGL, no GPU:
0.1-0.5 s a frame) a frame costs more than parsing the London inset's 33 KB (about 5 ms at the
rate measured for the national map).
"""

from __future__ import annotations

import streamlit as st
from streamlit import runtime

MIME = "application/json"
APART_FROM = 100_000
"""Characters of a layer's data from which it is served apart (the national map's districts
and borders, about 0.5 MB each), below which it stays in the deck (the London inset's)."""


class ServedDeck:
    """A deck from :func:`placesim.maps.build_deck` as ``st.pydeck_chart`` takes it, its
    layers' data served apart.

    Parameters
    ----------
    deck : pydeck.Deck
        From :func:`placesim.maps.build_deck`: its ``to_json`` takes ``serve``.
    key : str
        The chart's key: where the app keeps the served data (each chart's replaces its last).
    """

    def __init__(self, deck, key: str):
        self._deck = deck
        self._key = key

    def __getattr__(self, name: str):
        return getattr(self._deck, name)  # (the tooltip and the layers, as the chart reads them)

    def to_json(self) -> str:
        """The deck's JSON with its layers' data as URLs at the app's media endpoint; with no
        app running (a bare script), the data is in the JSON."""
        if not runtime.exists():
            return self._deck.to_json()
        return self._deck.to_json(serve=self._serve)

    def _serve(self, texts: list[str]) -> list[str | None]:
        files = runtime.get_instance().media_file_mgr
        base = (st.get_option("server.baseUrlPath") or "").strip("/")
        # kept as Streamlit keeps a download: one run longer than the run that last showed
        # it, so a browser still taking in the last map (a run replaced it meanwhile) finds
        # its data
        return [None if len(text) < APART_FROM else (f"/{base}" if base else "") + files.add(
                    text.encode(), MIME, f"{self._key}.data{i}", is_for_static_download=True)
                for i, text in enumerate(texts)]
