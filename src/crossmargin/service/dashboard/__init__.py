"""The browser dashboard of the live desk: server-rendered pages, a little JavaScript, no build.

Paths (all served by :class:`DashboardGate`, in front of the API's trust boundary):

* ``GET /login``, ``POST /login`` (form field ``key``: the admin key or an account key; sets the
  session cookie and redirects to ``/``), ``POST /logout``;
* ``GET /`` — the overview (admin); an account key is sent to its own account page;
* ``GET /api/overview`` — the overview as JSON (admin: session cookie or ``Authorization:
  Bearer``);
* ``WS /ws/overview`` — the overview document after every tick (admin session, same origin);
* ``GET /dashboard/accounts/{id}`` and ``POST /dashboard/accounts/{id}/whatif`` — the account
  page and its what-if form (admin: any account; an account key: its own only, else 404);
* ``/static/dashboard/…`` — the stylesheet, the scripts and the vendored chart library.

Security: the session cookie is HttpOnly and SameSite=Strict and holds a random session id
(:mod:`crossmargin.service.dashboard.sessions`), never the key; every form carries the session's
CSRF token and ``POST /login`` refuses a cross-origin ``Origin``; templates escape everything
(Jinja2 autoescaping).
"""

from crossmargin.service.dashboard.routes import DashboardGate, mount_dashboard

__all__ = ["DashboardGate", "mount_dashboard"]
