"""The web client's pages: plain functions, one module per area (login, logs, consent,
handovers, inbox; base.py: what many pages share), listed in table.py.

Each page does what an API route does: the caller is authenticated before it runs (the
session → identity → actor, gateway/web/context.py; the table marks the few public
pages), then it calls the owning service, which decides access. The gateway only
renders; a 404 from a service is "Fant ikke siden" (gateway/web/pages.py).
"""
