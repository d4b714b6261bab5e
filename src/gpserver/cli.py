"""The ``gpserver`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from gpserver.cli_jobs import add_jobs_commands
from gpserver.cli_security import add_security_commands
from gpserver.cli_worker import add_worker_options, worker_command
from gpserver.config import load_site
from gpserver.db import safe_url
from gpserver.errors import ConfigError, GPServerError
from gpserver.logs import configure_logging

log = logging.getLogger("gpserver.cli")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6080
DEFAULT_DATA_DIR = "gpserver-data"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(getattr(logging, args.log_level.upper()))
    try:
        return int(args.command(args))
    except ConfigError as exc:
        print(f"gpserver: configuration error: {exc}", file=sys.stderr)
        return 2
    except GPServerError as exc:
        print(f"gpserver: {exc.message}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpserver",
        description="Publish Python tools as ArcGIS-compatible geoprocessing services.",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log (default: info)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server with its worker pools")
    _site_options(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help="default: 127.0.0.1")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help="default: 6080")
    serve.add_argument(
        "--certfile", type=Path, help="serve HTTPS with this certificate"
    )
    serve.add_argument("--keyfile", type=Path, help="the certificate's private key")
    serve.set_defaults(command=serve_command)

    worker = commands.add_parser(
        "worker", help="run jobs from a shared store and broker (distributed mode)"
    )
    _site_options(worker)
    add_worker_options(worker)
    worker.set_defaults(command=worker_command)

    db = commands.add_parser("db", help="manage the job store")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="create or update the schema")
    _site_options(upgrade)
    upgrade.set_defaults(command=db_upgrade_command)

    add_security_commands(commands, _site_options)
    add_jobs_commands(commands, _site_options)
    return parser


def _site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(DEFAULT_DATA_DIR),
        help="where the store and jobs directory live (default: ./gpserver-data)",
    )
    parser.add_argument("--config", type=Path, help="site configuration file (TOML)")
    # Also after the command (gpserver serve --log-level debug); SUPPRESS keeps the
    # value given before the command when this one is not given.
    parser.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        choices=["debug", "info", "warning", "error"],
        help="how much to log (default: info)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"a port is a number from 1 to 65535, not {text!r}"
        )
    return port


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from gpserver.site import Site
    from gpserver.web.app import create_app

    if (args.certfile is None) != (args.keyfile is None):
        raise ConfigError("--certfile and --keyfile must be given together")
    for path in (args.certfile, args.keyfile):
        if path is not None and not path.is_file():
            raise ConfigError(f"{path}: the file does not exist")
    config = load_site(args.config, args.data_dir.resolve())
    site = Site.open(config, log_level=logging.getLogger().level)
    scheme = "https" if args.certfile else "http"
    root = f"{scheme}://{_url_host(args.host)}:{args.port}/arcgis"
    log.info("data directory: %s", config.data_dir)
    log.info("job store: %s", safe_url(config.database_url))
    log.info("jobs directory: %s", config.jobs_dir)
    if config.broker_url is not None:
        from kombu.utils.url import maybe_sanitize_url

        log.info(
            "broker: %s; asynchronous jobs run on `gpserver worker` processes",
            maybe_sanitize_url(config.broker_url),
        )
    for service in site.catalog:
        kind = "asynchronous" if service.config.is_async else "synchronous"
        log.info(
            "service %s (%s): %s/rest/services/%s/GPServer",
            service.key,
            kind,
            root,
            service.key,
        )
    log.info("Services Directory: %s/rest/services", root)
    uvicorn.run(
        create_app(site),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        ssl_certfile=str(args.certfile) if args.certfile else None,
        ssl_keyfile=str(args.keyfile) if args.keyfile else None,
        # X-Forwarded-For and -Proto are believed only from the proxies the site
        # names: otherwise anyone could claim the address a token is bound to.
        proxy_headers=bool(config.forwarded_allow_ips),
        forwarded_allow_ips=config.forwarded_allow_ips or None,
        timeout_graceful_shutdown=5,
    )
    return 0


def db_upgrade_command(args: argparse.Namespace) -> int:
    from gpserver.db import Database

    config = load_site(args.config, args.data_dir.resolve())
    config.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(config.database_url)
    try:
        database.upgrade()
    finally:
        database.dispose()
    print(f"gpserver: the job store at {safe_url(config.database_url)} is up to date")
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    sys.exit(main())
