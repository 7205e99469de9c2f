"""The gateway's own error codes (``stafett.errors``): code -> English text for developers.
Token refusals carry one, so the gateway tells a stale token (never counted as a failed
authentication) from a bad one by code (``gateway/access.py``), not by its text."""
from stafett.errors import declare

CODES = declare("gateway", {
    "token.invalid": "the bearer token is malformed, unsigned, from an unknown issuer or "
                     "otherwise not valid (detail names what)",
    "token.expired": "the token has expired: fetch a new one",
    "token.not_yet_valid": "the token is not valid yet (nbf): check the clock",
    "token.issued_in_future": "the token was issued in the future (iat): check the clock",
    # the web client's own form check
    "child.not_covered": "no child with that national identity number that a consent "
                         "covers your agency for (web client: new log)",
})
