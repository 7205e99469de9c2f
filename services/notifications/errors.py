"""The notifications service's error codes (``stafett.errors``): code -> English text for
developers, served on the gateway's ``/problems`` page."""
from stafett.errors import declare

CODES = declare("notifications", {
    "delivery.not_found": "no such delivery",
    "delivery.not_requeueable": "only a failed or cancelled delivery can be queued again",
    "notification.not_found": "no such notification",
    "operations.platform_only": "only the platform may do this",
    "preferences.person_only": "only a person has notification preferences",
    "preferences.time_zone_unknown": "unknown IANA time zone, e.g. Europe/Oslo",
    "webhook.limit_reached": "the agency has reached its limit of webhooks",
    "webhook.not_allowed": "webhooks are managed by an agency administrator or an agency "
                           "system with the webhook scope",
    "webhook.not_found": "no such webhook",
    "webhook.url_not_https": "a webhook URL uses https",
    "webhook.url_refused": "the webhook URL is refused (its host or address is not allowed)",
})
