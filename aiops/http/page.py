"""``GET /`` and ``/assets/*``: the web page, plain HTML + one vanilla JS file + CSS.

No build step and nothing from another origin: the three files ship as package data
(``aiops/http/assets/``) and are read once when the app is built. The page draws with
inline SVG from the read-only JSON (:mod:`aiops.http.dashboard`, :mod:`aiops.http.incidents`).

Same auth as ``/v1`` (role ``read``); a 401 here asks the browser for basic auth, whose
password is the token, and the browser sends it again with the page's own requests.
Every answer carries a strict Content-Security-Policy (scripts, styles and requests from
this origin only; no inline script, no frames), ``nosniff`` and ``no-referrer``; the
script writes text with ``textContent`` only, so label values from alerts cannot
become markup.
"""

from __future__ import annotations

from importlib import resources

from starlette.responses import Response

from aiops.http.endpoint import Call, Endpoint

#: Files served, with their media types (nothing else under ``/assets`` exists).
ASSETS = {"page.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Cache-Control": "no-cache"}


def asset(name: str) -> bytes:
    """The packaged file ``name`` (``index.html``, ``page.js`` or ``page.css``)."""
    return resources.files("aiops.http").joinpath("assets", name).read_bytes()


def page_endpoints() -> list[Endpoint]:
    """The page and its assets, to pass to :func:`aiops.http.app.build_app`."""
    files = {name: asset(name) for name in ("index.html", *ASSETS)}

    def serve(name: str, media: str) -> Endpoint:
        body = files[name]

        async def handler(_: Call) -> Response:
            return Response(body, media_type=media, headers=HEADERS)

        path = "/" if name == "index.html" else f"/assets/{name}"
        return Endpoint(name=f"page:{name}", path=path, handler=handler, role="read",
                        browser=True)

    return [serve("index.html", "text/html; charset=utf-8"),
            *(serve(name, media) for name, media in ASSETS.items())]
