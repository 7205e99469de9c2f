"""The gateway's REST resources: plain functions, one module per resource, listed with
their contracts in table.py (route.py: the row type).

A route runs once its caller is authenticated (gateway/service.py makes the nameko
entrypoints from the table and authenticates first) and forwards to the service that owns
the data (``ctx.logs``, ``ctx.consent``, ...: gateway/context.py); the service decides
access.
"""
