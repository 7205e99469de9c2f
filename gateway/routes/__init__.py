"""The gateway's REST resources, one mixin per owning service.

Each route authenticates, then forwards to the service that owns the data; the service
decides access. ``GatewayService`` combines the mixins and declares the RPC proxies.
"""
