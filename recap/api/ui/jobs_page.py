"""(Being built.)"""

from __future__ import annotations

from fastapi import APIRouter


def router() -> APIRouter:
    return APIRouter(prefix="/ui", include_in_schema=False)
