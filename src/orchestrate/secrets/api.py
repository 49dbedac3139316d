"""HTTP routes of the secret store, for admins only; values go in and never come out."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from orchestrate.core.pagination import DEFAULT_PAGE_SIZE
from orchestrate.secrets import service
from orchestrate.secrets.schemas import KeyRotationOut, SecretOut, SecretValueIn
from orchestrate.web.deps import AdminDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(tags=["secrets"])


@router.get("/secrets", response_model=PageOut[SecretOut])
async def list_secrets(
    uow: UowDep, _admin: AdminDep, limit: PageLimit = DEFAULT_PAGE_SIZE, cursor: PageCursor = None
) -> PageOut[SecretOut]:
    """Secrets' names and dates, by name (never their values)."""
    page = await service.secrets_page(uow, limit=limit, cursor=cursor)
    return PageOut(items=[SecretOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@router.put(
    "/secrets/{name}",
    response_model=SecretOut,
    responses={201: {"model": SecretOut, "description": "The secret was created."}},
)
async def set_secret(
    name: str,
    body: SecretValueIn,
    uow: UowDep,
    runtime: RuntimeDep,
    admin: AdminDep,
    response: Response,
) -> SecretOut:
    """Create or replace a secret (the name is upper-cased); 201 when it is new."""
    written = await service.set_secret(uow, runtime.settings, name, body.value, admin)
    if written.is_new:
        response.status_code = status.HTTP_201_CREATED
    return SecretOut.of(written.secret)


@router.delete("/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_secret(name: str, uow: UowDep, runtime: RuntimeDep, admin: AdminDep) -> Response:
    """Delete a secret; 404 when there is none of that name."""
    await service.delete_secret(uow, runtime.settings, name, admin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/secrets/rotate-key", response_model=KeyRotationOut)
async def rotate_key(uow: UowDep, runtime: RuntimeDep, admin: AdminDep) -> KeyRotationOut:
    """Re-encrypt every secret under a new key (or the first of ORCHESTRATE_SECRET_KEY)."""
    return KeyRotationOut.of(await service.rotate_key(uow, runtime.settings, admin))
