"""The statistics page with figures (the browser test has too few children to show any):
each group a table of arenas by outcome, hidden figures as «skjult», never a number."""
from __future__ import annotations

import re

from gateway.web.labels import LABELS
from gateway.web.pages import ENV


def test_hidden_figures_read_skjult_and_shown_ones_their_number():
    group = {"agency_type": "school", "municipality": "0301", "children": 12,
             "by_arena": {a: None for a in LABELS["arena"]} | {"school": 9},
             "by_outcome": {}, "cells": {a: {"green": None, "yellow": None, "red": None,
                                              "not_evaluated": None} for a in LABELS["arena"]}}
    group["cells"]["school"]["green"] = 6
    html = ENV.get_template("statistics.html").render(
        stats={"counts": "children", "suppressed_below": 5, "groups": [group]},
        arenas=list(LABELS["arena"].items()), title="Statistikk", me=None, csrf_token="",
        melding=None)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Skole, 0301: 12 barn" in text
    school_row = re.search(r"Skolen (.*?) 9", text).group(1)
    assert school_row.split()[0] == "6" and "skjult" in school_row
    assert "Det er ennå ikke nok barn" not in text
