"""RPC proxies with a timeout.

nameko's in-service ``RpcProxy`` waits forever. ``TimeoutRpcProxy`` gives up after
``RPC_TIMEOUT`` seconds with ``ServiceUnavailable`` (the gateway answers 503 +
Retry-After), as it does when the broker cannot be reached or the service answers that
its database cannot (``stafett.errors.unavailable``). It sets the request message's TTL to
the timeout, so a request queued while the target is down is not executed later, after
its caller has given up.

A call goes out only after what the calling worker committed is committed for real
(``stafett.db.before_calling_out``): inside an exactly-once entrypoint commits are held
until its answer is stored (``stafett.request_keys``), and the service called must see
them, as it would without holding.

Its reply queue is bound with ``reply.<caller>.<uuid>`` instead of nameko's bare uuid, so the
broker's topic permissions let each component bind its own reply keys only
(``stafett.broker``): a service sees its callers' reply keys in their requests, and must not
be able to bind a queue of its own with them and read their replies.
"""
from __future__ import annotations

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import MethodProxy, ReplyListener, RpcProxy, ServiceProxy

from stafett.broker import reply_queue, reply_routing_key
from stafett.db import before_calling_out
from stafett.errors import ServiceUnavailable, unavailable


class ScopedReplyListener(ReplyListener):
    """nameko's reply listener, bound with ``reply.<this service>.<uuid>``."""

    def setup(self):
        super().setup()
        self.routing_key = reply_routing_key(self.container.service_name, self.routing_key)
        queue = self.queue
        self.queue = reply_queue(queue.name, queue.exchange, self.routing_key,
                                 queue.queue_arguments)


class TimeoutMethodProxy(MethodProxy):
    def __init__(self, worker_ctx, service_name, method_name, reply_listener, timeout,
                 **options):
        self.timeout = timeout
        super().__init__(worker_ctx, service_name, method_name, reply_listener,
                         expiration=timeout, **options)

    def __call__(self, *args, **kwargs):
        before_calling_out(self.worker_ctx)
        try:
            reply = self._call(*args, **kwargs)
        except UnknownService:
            raise ServiceUnavailable(f"the {self.service_name} service is not running")
        except Exception as exc:  # the broker is away: 503, never 500
            outage = unavailable(exc)
            if outage is None:
                raise
            raise outage from exc
        try:
            with eventlet.Timeout(self.timeout):
                return reply.result()
        except eventlet.Timeout:
            raise ServiceUnavailable(
                f"the {self.service_name} service did not answer within {self.timeout:g} s")
        except Exception as exc:  # its database (or its broker connection) is away
            outage = unavailable(exc, self.service_name)
            if outage is None:
                raise
            raise outage from exc


class TimeoutServiceProxy(ServiceProxy):
    def __init__(self, worker_ctx, service_name, reply_listener, timeout, **options):
        super().__init__(worker_ctx, service_name, reply_listener, **options)
        self.timeout = timeout

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return TimeoutMethodProxy(self.worker_ctx, self.service_name, name,
                                  self.reply_listener, self.timeout, **self.options)


class TimeoutRpcProxy(RpcProxy):
    """``consent = TimeoutRpcProxy("consent")``; timeout from ``RPC_TIMEOUT`` unless given."""

    rpc_reply_listener = ScopedReplyListener()

    def __init__(self, target_service, timeout: float | None = None, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def get_dependency(self, worker_ctx):
        timeout = self.timeout or float(self.container.config.get("RPC_TIMEOUT", 5))
        return TimeoutServiceProxy(worker_ctx, self.target_service,
                                   self.rpc_reply_listener, timeout, **self.options)
