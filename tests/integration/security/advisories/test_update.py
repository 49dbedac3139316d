"""``update_osv`` against a real HTTP server on 127.0.0.1 serving OSV exports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestrate.core.errors import IntegrationError
from orchestrate.core.runtime import Runtime
from orchestrate.security.advisories import database_status, update_osv
from tests.integration.security.advisories.osv_builders import record, write_zip


class ExportServer:
    """Serves ``files`` (URL path → bytes) and counts requests; 404 for anything else."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        files, requests = self.files, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/osv"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ExportServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def exports() -> Iterator[ExportServer]:
    with ExportServer() as server:
        yield server


async def test_update_fetches_each_ecosystem_export_and_imports_it(
    runtime: Runtime, exports: ExportServer, tmp_path: Path
) -> None:
    exports.files["/osv/PyPI/all.zip"] = write_zip(tmp_path / "p.zip", [record("P-1")]).read_bytes()
    exports.files["/osv/crates.io/all.zip"] = write_zip(
        tmp_path / "c.zip", [record("C-1", ecosystem="crates.io", name="time"), record("C-2")]
    ).read_bytes()
    settings = runtime.settings.model_copy(
        update={"security_osv_url": exports.url, "security_osv_ecosystems": "PyPI, crates.io"}
    )

    summary = await update_osv(runtime.uow(), settings)

    assert exports.requests == ["/osv/PyPI/all.zip", "/osv/crates.io/all.zip"]
    assert (summary.records, summary.inserted, len(summary.parts)) == (3, 3, 2)
    status = await database_status(runtime.uow(read_only=True))
    assert dict(status.per_ecosystem) == {"PyPI": 2, "crates.io": 1}


async def test_an_ecosystem_the_server_does_not_have_fails_before_anything_is_imported(
    runtime: Runtime, exports: ExportServer, tmp_path: Path
) -> None:
    exports.files["/osv/PyPI/all.zip"] = write_zip(tmp_path / "p.zip", [record("P-1")]).read_bytes()
    settings = runtime.settings.model_copy(
        update={"security_osv_url": exports.url, "security_osv_ecosystems": "PyPI,Nonesuch"}
    )

    with pytest.raises(IntegrationError, match="HTTP 404"):
        await update_osv(runtime.uow(), settings)

    assert (await database_status(runtime.uow(read_only=True))).is_empty


async def test_offline_is_an_integration_error_that_says_how_to_import_instead(
    runtime: Runtime,
) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # bound, then closed: nothing listens there
    settings = runtime.settings.model_copy(
        update={"security_osv_url": f"http://127.0.0.1:{port}", "security_osv_ecosystems": "PyPI"}
    )

    with pytest.raises(IntegrationError, match="security db import"):
        await update_osv(runtime.uow(), settings)
