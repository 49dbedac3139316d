"""The bare ASGI app issue 18 measures the webhook receiver against (``webhooks.py``).

A Starlette app under the same uvicorn (uvloop, httptools) that does what the receiver
must for each GitHub delivery and nothing else: check the headers, verify the
``X-Hub-Signature-256`` HMAC over the raw body, parse the JSON body (the receiver reads
its action and repository), insert the delivery into a SQLite table in WAL mode and
commit, then answer 202. One aiosqlite connection, one transaction per delivery: what a
person would write first.

    python bench/_bare_webhook_app.py --port 8080 --database /tmp/bare.db --secret S
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def build(database: str, secret: bytes) -> Starlette:
    db: list[aiosqlite.Connection] = []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        connection = await aiosqlite.connect(database)
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, event TEXT, "
            "action TEXT, repository TEXT, body BLOB)"
        )
        db.append(connection)
        yield
        await connection.close()

    async def receive(request: Request) -> JSONResponse:
        event = request.headers.get("x-github-event")
        delivery = request.headers.get("x-github-delivery")
        signature = request.headers.get("x-hub-signature-256", "")
        if not event or not delivery:
            return JSONResponse({"title": "Missing header"}, status_code=400)
        body = await request.body()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return JSONResponse({"title": "Bad signature"}, status_code=401)
        payload = json.loads(body)
        repository = (payload.get("repository") or {}).get("full_name")
        await db[0].execute(
            "INSERT INTO deliveries VALUES (?, ?, ?, ?, ?)",
            (delivery, event, payload.get("action"), repository, body),
        )
        await db[0].commit()
        return JSONResponse({"id": delivery, "status": "accepted"}, status_code=202)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/webhooks/github", receive, methods=["POST"]),
        Route("/api/health", health),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    app = build(args.database, args.secret.encode())
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="error"
    )


if __name__ == "__main__":
    main()
