"""Runs the service on 127.0.0.1:8000 over a throw-away PostgreSQL, with two demo API keys:
`demo-admin-key` (tenant demo, role admin) and `demo-viewer-key` (tenant demo, role viewer).

    python -m recsys_service.devserver [port]
"""

from __future__ import annotations

import sys

import uvicorn

from .app import ApiKey, Settings, create_app, hash_api_key
from .pgtemp import TempPostgres

SECRET = "dev-secret"


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    pg = TempPostgres(port=54330)
    dsn = pg.start()
    try:
        keys = [
            ApiKey("admin", hash_api_key(SECRET, "demo-admin-key"), "demo", ["admin"]),
            ApiKey("viewer", hash_api_key(SECRET, "demo-viewer-key"), "demo", ["viewer"]),
        ]
        app = create_app(Settings(dsn=dsn, api_key_secret=SECRET, api_keys=keys))
        uvicorn.run(app, host="127.0.0.1", port=port)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
