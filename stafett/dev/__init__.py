"""Development tooling: the demo's synthetic data (``demo``), the development token issuer
(``issuer``) and ``make run``'s whole platform on one machine (``stack``).

It drives the whole platform, so it may import the services and the gateway; the kernel
proper (the rest of ``stafett``) imports none of them (tests/unit/test_layering.py).
"""
