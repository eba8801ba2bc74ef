"""The HTTP edge: one home for every route, behind the same limits by construction.

- :mod:`~aiops.http.server`: uvicorn in a thread, connection limits, rate-limited logs;
- :mod:`~aiops.http.connections`: connection cap that sheds the slowest, header timeout;
- :mod:`~aiops.http.principals`: tokens -> principals with roles;
- :mod:`~aiops.http.limits`: media type, streamed body caps, bounded JSON;
- :mod:`~aiops.http.endpoint`: the wrapper every route passes;
- :mod:`~aiops.http.app`: the app (in-flight cap, standby) built from endpoints only;
- routes: :mod:`~aiops.http.health`, :mod:`~aiops.http.incidents`,
  :mod:`~aiops.http.alerts` (Alertmanager webhook), :mod:`~aiops.http.approvals`,
  the web page (:mod:`~aiops.http.page`) and its JSON (:mod:`~aiops.http.dashboard`).

The daemon wires the routes with callables (journal, remediator, clock).
"""

from aiops.http.alerts import alert_endpoints
from aiops.http.app import build_app
from aiops.http.approvals import approval_endpoints
from aiops.http.dashboard import dashboard_endpoints
from aiops.http.endpoint import Call, Endpoint
from aiops.http.health import Health, health_endpoints
from aiops.http.incidents import incident_endpoints
from aiops.http.page import page_endpoints
from aiops.http.principals import ANONYMOUS, Principal, Principals, load_principals
from aiops.http.server import HttpServer

__all__ = [
    "ANONYMOUS", "Call", "Endpoint", "Health", "HttpServer", "Principal", "Principals",
    "alert_endpoints", "approval_endpoints", "build_app", "dashboard_endpoints",
    "health_endpoints", "incident_endpoints", "load_principals", "page_endpoints",
]
