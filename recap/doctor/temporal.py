"""The doctor's Temporal checks: the frontend answers, the namespace exists, and recap's
search attributes are registered in it as Keyword."""

from __future__ import annotations

import asyncio

from recap.core.config import Settings
from recap.core.naming import SEARCH_ATTRIBUTES
from recap.doctor.report import CheckResult, Status, result, why


async def check_temporal(settings: Settings, timeout_seconds: float) -> list[CheckResult]:
    """Temporal answers at RECAP_TEMPORAL_ADDRESS, the namespace exists, and recap's search
    attributes are registered in it (all Keyword)."""
    from datetime import timedelta

    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    from recap.jobs.client import connect

    address, namespace = settings.temporal_address, settings.temporal_namespace
    where = f"{address}, namespace {namespace}"
    names = ", ".join(SEARCH_ATTRIBUTES)

    def attributes(status: Status, detail: str, fix: str | None = None) -> CheckResult:
        return result("search_attributes", "search attributes", status, names, detail, fix)

    def temporal_failed(detail: str, fix: str) -> list[CheckResult]:
        not_checked = attributes("skip", "not checked: Temporal failed")
        return [result("temporal", "Temporal", "fail", where, detail, fix), not_checked]

    rpc_timeout = timedelta(seconds=timeout_seconds)
    try:
        client = await asyncio.wait_for(connect(settings), timeout_seconds)
    except (ConnectionError, TimeoutError, RuntimeError) as error:
        reason = "no answer" if isinstance(error, TimeoutError) else why(error)
        return temporal_failed(
            f"cannot connect ({reason})",
            "start Temporal (`recap dev` runs a dev server with the UI) or set "
            "RECAP_TEMPORAL_ADDRESS to your Temporal frontend (host:port)",
        )
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=rpc_timeout
        )
    except RPCError as error:
        absent = error.status == RPCStatusCode.NOT_FOUND
        return temporal_failed(
            f"namespace {namespace} does not exist"
            if absent
            else f"cannot describe namespace {namespace} ({error.status.name}: {error})",
            f"create it with `temporal operator namespace create --address {address} "
            f"--namespace {namespace}`, or set RECAP_TEMPORAL_NAMESPACE to an existing one"
            if absent
            else "check that this address is a Temporal frontend and that recap may "
            "describe the namespace",
        )
    temporal = result("temporal", "Temporal", "pass", where, "reachable, namespace exists")
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), timeout=rpc_timeout
        )
    except RPCError as error:
        return [
            temporal,
            attributes(
                "fail",
                f"cannot list them ({error.status.name}: {error})",
                "register them as Keyword attributes with your Temporal's tools (Temporal "
                "Cloud: `tcld namespace search-attributes add`)",
            ),
        ]
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    found = {**listed.system_attributes, **listed.custom_attributes}
    missing = [name for name in SEARCH_ATTRIBUTES if name not in found]
    wrong = [name for name in SEARCH_ATTRIBUTES if name in found and found[name] != keyword]
    if not missing and not wrong:
        return [temporal, attributes("pass", "registered")]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if wrong:
        problems.append(f"not Keyword: {', '.join(wrong)}")
    create = " ".join(f"--name {name} --type Keyword" for name in missing)
    fix = (
        f"`temporal operator search-attribute create --address {address} --namespace "
        f"{namespace} {create}`"
        if missing
        else ""
    )
    if wrong:
        fix += ("; " if fix else "") + (
            f"{', '.join(wrong)} exist with another type: recap filters on them as Keyword, "
            "so use a namespace where they are Keyword"
        )
    return [temporal, attributes("fail", "; ".join(problems), fix)]
