"""The `vaidya` command: the server, token minting for development, and the portal's and Rx's commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
from pathlib import Path

from .config import ConfigError, ensure_secret, load_config
from .grants import Role, mint_token


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML configuration file (unknown keys are rejected)")
    p.add_argument("--data-dir", type=Path, help="where the database, secret and uploads live (default: ./var)")


def _config_from(args: argparse.Namespace, **overrides: object):
    return load_config(args.config, {"data_dir": args.data_dir, **overrides})


def _serve_workers(args: argparse.Namespace) -> int | None:
    """`--workers`, else one worker per core unless the config file or VAIDYA_WORKERS says otherwise."""
    if args.workers is not None:
        return args.workers
    if "VAIDYA_WORKERS" in os.environ:
        return None
    if args.config is not None:
        try:
            with open(args.config, "rb") as f:
                if "workers" in tomllib.load(f):
                    return None
        except (OSError, tomllib.TOMLDecodeError):
            return None  # load_config reports the file's problem
    return os.cpu_count() or 1


def cmd_serve(args: argparse.Namespace) -> int:
    from .memory import limit_arenas

    limit_arenas()  # before any thread starts (docs/reliability.md, soak)
    config = _config_from(
        args, host=args.host, port=args.port, dev=args.dev or None, seed_demo=args.seed_demo or None,
        workers=_serve_workers(args), redis_url=args.redis, sms_log_otps=args.sms_log_otps or None,
        trusted_proxies=args.trusted_proxies, tls_cert=args.tls_cert, tls_key=args.tls_key,
    )
    from portal.sms import refuse_start_without_gateway

    refuse_start_without_gateway(config)
    if config.redis_url and config.records:
        from .directory import claim_records
        from .redis_connection import describe_redis_url

        import redis

        try:
            holder = claim_records(config.redis_url, config.node_name)
        except (redis.RedisError, OSError) as exc:
            raise ConfigError(f"cannot reach Redis ({describe_redis_url(config.redis_url)}): {exc}") from None
        if holder != config.node_name:
            raise ConfigError(f"node {holder} already keeps the records (portal and Rx) in this deployment: start "
                              "this node with `records = false` (VAIDYA_RECORDS=0) to serve rooms only")
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config.log_level.upper() != "DEBUG":
        # aioice logs every connectivity check at INFO: thousands of lines an hour on a busy server.
        logging.getLogger("aioice").setLevel(logging.WARNING)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        uvloop = None
    from aiohttp import web

    from .access_log import RedactingAccessLogger
    from .app import create_app
    from .memory import freeze_startup_objects

    ssl_context = None
    if config.tls_cert:
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ssl_context.load_cert_chain(config.tls_cert, config.tls_key)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"tls_cert/tls_key: cannot load the certificate and key: {exc}") from None
    app = create_app(config)
    freeze_startup_objects()
    print(f"Vaidya serving on {config.base_url}  (room page: {config.base_url}/room/<name>)", flush=True)
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        print=None,
        ssl_context=ssl_context,
        access_log_class=RedactingAccessLogger,
        # also the deadline for a request's header (aiohttp has no separate one): docs/security.md
        keepalive_timeout=config.http_idle_timeout_s,
        loop=uvloop.new_event_loop() if uvloop else None,
    )
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    config = _config_from(args)
    secret = ensure_secret(config)
    token = mint_token(
        secret, room=args.room, identity=args.identity, role=args.role, ttl_s=args.ttl
    )
    if args.url:
        print(f"{config.base_url}/room/{args.room}#token={token}")
    else:
        print(token)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vaidya", description="Vaidya telemedicine server and tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (signaling, SFU, portal, Rx)")
    _add_common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--dev", action="store_true", help="development mode: the dev SMS inbox page")
    serve.add_argument("--seed-demo", action="store_true", help="seed a demo doctor, OPD and health worker")
    serve.add_argument("--sms-log-otps", action="store_true",
                       help="with no SMS gateway (VAIDYA_SMS_URL_TEMPLATE), write each SMS, one-time codes and "
                            "login links included, to the log; without it (and without --dev) such a start is refused")
    serve.add_argument("--trusted-proxies", metavar="CIDRS",
                       help="reverse proxies whose X-Forwarded-For / Forwarded name the client, e.g. "
                            "'127.0.0.1,10.0.0.0/8' (default: none; the peer address is the client)")
    serve.add_argument("--workers", type=int, metavar="N",
                       help="run rooms in N worker processes behind this one (docs/scale.md); default: one per "
                            "core (the config's `workers` or VAIDYA_WORKERS when set); 0: rooms in this process")
    serve.add_argument("--redis", metavar="URL",
                       help="multi-node: share the node registry and the room -> node map through this Redis: "
                            "one server (redis://[:password@]10.0.0.5:6379/0) or a primary under Redis Sentinel "
                            "(redis+sentinel://[:password@]10.0.0.7:26379,10.0.0.8:26379/<master-name>[/<db>]"
                            "[?sentinel_password=…]; the password before @ is the primary's); docs/scale.md")
    serve.add_argument("--tls-cert", metavar="PEM",
                       help="serve HTTPS with this certificate chain (needs --tls-key); browsers allow the "
                            "camera only on HTTPS pages off localhost. Behind a TLS reverse proxy, omit "
                            "(docs/deploy.md)")
    serve.add_argument("--tls-key", metavar="PEM", help="the private key for --tls-cert")
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="mint a room access token for development")
    _add_common(token)
    token.add_argument("--room", required=True)
    token.add_argument("--identity", required=True)
    token.add_argument("--role", choices=[r.value for r in Role], default=Role.PATIENT.value)
    token.add_argument("--ttl", type=int, default=600, help="lifetime in seconds (default 600)")
    token.add_argument("--url", action="store_true", help="print the room page URL with the token in its fragment")
    token.set_defaults(func=cmd_token)

    import portal.cli
    import rx.cli

    portal.cli.register(sub)
    rx.cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"vaidya: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
