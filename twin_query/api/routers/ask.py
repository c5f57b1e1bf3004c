"""POST /v1/ask: a question in plain language → intent, answer, reasoning steps and evidence."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends

from twin_query.api.deps import Caller, Service, get_caller
from twin_query.api.routers.entities import ERRORS
from twin_query.api.schemas import AskRequest, AskResponse
from twin_query.api.shown import audited
from twin_query.ask import ask

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={**ERRORS, 413: {"model": ERRORS[401]["model"]}},
    summary="Ask a question; the answer cites the records it rests on",
    description='Intents: search, person_profile, relationship ("how do I know X"), timeline ("what happened '
    'in March 2023"), aggregate ("how much did I spend on travel last year"), prediction ("who will I meet next '
    "week\") and topic. Entities are resolved in the token's view and every cited record is one the token may "
    "read. No language model or network is used unless the server sets TWIN_LLM_URL.",
)
def post_ask(
    service: Service,
    body: AskRequest = Body(...),
    caller: Caller = Depends(get_caller),
) -> AskResponse:
    result = ask(service, body.question, tiers=caller.tiers, as_of=body.as_of, k=body.k)
    return audited(service.twin(), caller, AskResponse(**result))
