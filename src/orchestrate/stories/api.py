"""HTTP routes of stories and epics (being written)."""

from fastapi import APIRouter

router = APIRouter(tags=["stories"])
