"""The monitoring server: storage, REST API, live updates, alerts, accounts and the web dashboard.

Runs embedded in ``smartbms run`` (see :mod:`smartbms.server.embedded`) or standalone with
``smartbms serve``, receiving telemetry from other smartbms instances over HTTP
(:mod:`smartbms.server.uplink`). FastAPI and friends are imported only by the modules that need them.
"""
