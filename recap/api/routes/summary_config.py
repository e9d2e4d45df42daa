"""`GET`/`PATCH …/session_summaries/config/`: the team's summaries configuration, as
PostHog's endpoint of the same path: the product context the summary prompt shows the
model in place of the deployment's RECAP_PRODUCT_CONTEXT, and recap's custom tags.
Reading needs `session_recording:read`, changing it `session_recording:write`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from recap.api.deps import RuntimeDep, TeamReader, TeamWriter
from recap.api.errors import ApiProblem
from recap.api.models import SummaryConfigAnswer, SummaryConfigUpdate
from recap.api.responses import ERROR_RESPONSES, json_response
from recap.core.logging import get_logger
from recap.store.summary_config import SummaryConfig, SummaryConfigError, SummaryConfigStore

log = get_logger(__name__)

PATH = "/session_summaries/config/"


def router() -> APIRouter:
    """A fresh router for each prefix, as every team router."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    routes.add_api_route(
        PATH,
        get_summary_config,
        methods=["GET"],
        response_model=SummaryConfigAnswer,
        summary="The team's summaries configuration",
    )
    routes.add_api_route(
        PATH,
        update_summary_config,
        methods=["PATCH"],
        response_model=SummaryConfigAnswer,
        summary="Change the team's summaries configuration (only the fields given)",
    )
    return routes


def _answer(config: SummaryConfig) -> JSONResponse:
    return json_response(
        SummaryConfigAnswer(
            product_context=config.product_context, custom_tags=list(config.custom_tags)
        )
    )


async def get_summary_config(caller: TeamReader, state: RuntimeDep) -> JSONResponse:
    config = await asyncio.to_thread(SummaryConfigStore(state.store).get, caller.team_id)
    return _answer(config)


async def update_summary_config(
    body: SummaryConfigUpdate, caller: TeamWriter, state: RuntimeDep
) -> JSONResponse:
    given = body.model_fields_set
    try:
        config = await asyncio.to_thread(
            SummaryConfigStore(state.store).update,
            caller.team_id,
            product_context=body.product_context if "product_context" in given else None,
            custom_tags=body.custom_tags if "custom_tags" in given else None,
        )
    except SummaryConfigError as error:
        raise ApiProblem(400, "validation_error", "invalid_input", str(error), error.attr) from None
    # Names the fields changed, never their content.
    log.info(
        "summary config changed", team_id=caller.team_id, fields=sorted(given), key_id=caller.key.id
    )
    return _answer(config)
