"""The thin web client in bokmål, served by the gateway: docs/web.md."""
