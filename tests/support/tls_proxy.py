"""A TLS-terminating TCP proxy on loopback, for tests (tests/support/tls.py starts it).

``python tls_proxy.py --cert C --key K --upstream 127.0.0.1:5672 [--client-ca CA]
[--port P]`` listens on 127.0.0.1 (a free port unless given, printed on stdout), completes
a TLS handshake with each client (requiring a client certificate from CA when given) and
pipes the bytes to ``upstream``.
Each accepted session is logged on stderr. Plain asyncio: no eventlet here.
"""
import argparse
import asyncio
import signal
import ssl
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--client-ca")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        context.load_verify_locations(args.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED

    async def handle(reader, writer):
        try:
            await writer.start_tls(context)
        except (OSError, ssl.SSLError) as exc:  # a refused handshake: say why, on stderr
            print(f"refused: {exc}", file=sys.stderr, flush=True)
            writer.transport.abort()
            return
        tls = writer.get_extra_info("ssl_object")
        client = writer.get_extra_info("peercert") or {}
        subject = ",".join(f"{k}={v}" for rdn in client.get("subject", ()) for k, v in rdn)
        print(f"accepted {tls.version()} client={subject or '-'}", file=sys.stderr, flush=True)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        except OSError as exc:
            print(f"upstream unreachable: {exc}", file=sys.stderr, flush=True)
            writer.close()
            return
        try:
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        except asyncio.CancelledError:  # the proxy is stopping
            writer.transport.abort()
            upstream_writer.transport.abort()

    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(handle, "127.0.0.1", args.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
