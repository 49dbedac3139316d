"""``security db update``: download each ecosystem's OSV export and import it.

Every export (``{security_osv_url}/{ecosystem}/all.zip``) is streamed to a temporary
file first — npm's is hundreds of megabytes — and only once all have arrived are they
imported, so an update that loses the network half-way changes nothing. Offline, the
error says how to import a copy fetched elsewhere instead.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import httpx

from orchestrate.core.errors import ConfigurationError, IntegrationError
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.security.advisories.importing import ImportSummary, import_osv

MAX_DOWNLOAD_BYTES = 4 * 1024**3
_TIMEOUT = httpx.Timeout(30.0, read=120.0)
_USER_AGENT = "orchestrate-security (OSV database update)"


def export_urls(settings: Settings) -> list[tuple[str, str]]:
    """(ecosystem, URL) for every ecosystem the settings name."""
    base = settings.security_osv_url.rstrip("/")
    ecosystems = [name.strip() for name in settings.security_osv_ecosystems.split(",")]
    if not base or not any(ecosystems):
        raise ConfigurationError(
            "No OSV source configured: set ORCHESTRATE_SECURITY_OSV_URL and "
            "ORCHESTRATE_SECURITY_OSV_ECOSYSTEMS (e.g. 'PyPI,npm')."
        )
    return [(name, f"{base}/{quote(name, safe='.')}/all.zip") for name in ecosystems if name]


async def update_osv(uow: UnitOfWork, settings: Settings) -> ImportSummary:
    """Fetch and import every configured ecosystem's export; the summary adds them up
    and keeps each import in ``parts``."""
    urls = export_urls(settings)
    with tempfile.TemporaryDirectory(prefix="orchestrate-osv-") as folder:
        downloads = []
        async with httpx.AsyncClient(
            timeout=_TIMEOUT, follow_redirects=True, headers={"User-Agent": _USER_AGENT}
        ) as client:
            for index, (ecosystem, url) in enumerate(urls):
                target = Path(folder) / f"{index}.zip"
                await _download(client, ecosystem, url, target)
                downloads.append((url, target))
        parts = []
        for index, (url, target) in enumerate(downloads):
            unit = uow if index == 0 else uow.sibling()
            parts.append(await import_osv(unit, target, source=url))
    return _total(parts)


async def _download(client: httpx.AsyncClient, ecosystem: str, url: str, target: Path) -> None:
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise IntegrationError(
                    f"The OSV export of {ecosystem} could not be fetched: {url} answered "
                    f"HTTP {response.status_code}. Check ORCHESTRATE_SECURITY_OSV_URL and "
                    "the ecosystem's name (as OSV spells it: PyPI, npm, crates.io, Go).",
                    url=url,
                )
            written = 0
            with target.open("wb") as sink:
                async for chunk in response.aiter_bytes(1024 * 1024):
                    written += len(chunk)
                    if written > MAX_DOWNLOAD_BYTES:
                        raise IntegrationError(
                            f"The OSV export at {url} is larger than {MAX_DOWNLOAD_BYTES} "
                            "bytes; refusing it.",
                            url=url,
                        )
                    sink.write(chunk)
    except httpx.HTTPError as error:
        raise IntegrationError(
            f"Could not download the OSV export of {ecosystem} from {url} "
            f"({type(error).__name__}: {error}). Offline? Fetch all.zip on a connected "
            "machine and run `orchestrate security db import <all.zip>`.",
            url=url,
        ) from error


def _total(parts: list[ImportSummary]) -> ImportSummary:
    first, last = parts[0], parts[-1]
    return replace(
        first,
        source=", ".join(part.source for part in parts),
        records=sum(part.records for part in parts),
        inserted=sum(part.inserted for part in parts),
        updated=sum(part.updated for part in parts),
        unchanged=sum(part.unchanged for part in parts),
        skipped=sum(part.skipped for part in parts),
        finished_at=last.finished_at,
        skipped_reasons=tuple(reason for part in parts for reason in part.skipped_reasons)[:20],
        parts=tuple(parts),
    )
