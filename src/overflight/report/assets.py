"""Find Leaflet in ``node_modules`` and return its script and stylesheet for inlining.

The report must open with no network, so nothing is loaded from a CDN: the
files come from the project's ``node_modules`` (``npm install``), located by
``$OVERFLIGHT_NODE_MODULES`` or by walking up from this package and from the
current directory.  The images the stylesheet refers to become data URIs.
"""

from __future__ import annotations

import base64
import os
import re
from functools import cache
from pathlib import Path

from overflight.errors import OverflightError

LEAFLET = Path("leaflet") / "dist"
ENV = "OVERFLIGHT_NODE_MODULES"


def _candidates() -> list[Path]:
    found: list[Path] = []
    env = os.environ.get(ENV)
    if env:
        found += [Path(env), Path(env) / "node_modules"]
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        found += [p / "node_modules" for p in (start, *start.parents)]
    return found


def node_modules() -> Path:
    """The ``node_modules`` folder that holds Leaflet.

    Raises
    ------
    OverflightError
        When no candidate holds ``leaflet/dist/leaflet.js``; the message lists
        where it looked.
    """
    tried = _candidates()
    for p in tried:
        if (p / LEAFLET / "leaflet.js").is_file():
            return p
    where = ", ".join(str(p) for p in tried[:6])
    raise OverflightError(
        f"leaflet/dist/leaflet.js not found (looked in {where}, ...); "
        f"run `npm install` in the project or set {ENV} to a node_modules folder"
    )


def inline_script(js: str) -> str:
    """Make JavaScript safe to place inside ``<script>``: no ``</script`` or ``<!--``.

    Examples
    --------
    >>> inline_script('s = "</script>"')
    's = "<\\\\/script>"'
    """
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js.replace("<!--", "<\\!--")


@cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's ``(script, stylesheet)``, the stylesheet's images as data URIs."""
    dist = node_modules() / LEAFLET
    js = (dist / "leaflet.js").read_text(encoding="utf-8")
    css = (dist / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        img = dist / match.group(1)
        if not img.is_file():
            return "none"
        b64 = base64.b64encode(img.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{b64})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    return inline_script(js), css.replace("</", "<\\/")
