"""The doctor's Temporal checks: the frontend answers, the namespace exists, and recap's
search attributes are registered in it as Keyword."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from recap.core.config import Settings
from recap.core.naming import SEARCH_ATTRIBUTES
from recap.doctor.report import CheckResult, Status, result, why

if TYPE_CHECKING:
    from temporalio.client import Client


def _attributes(status: Status, detail: str, fix: str | None = None) -> CheckResult:
    names = ", ".join(SEARCH_ATTRIBUTES)
    return result("search_attributes", "search attributes", status, names, detail, fix)


def _temporal_failed(where: str, detail: str, fix: str) -> list[CheckResult]:
    """Temporal failed: the search attributes are not checked."""
    not_checked = _attributes("skip", "not checked: Temporal failed")
    return [result("temporal", "Temporal", "fail", where, detail, fix), not_checked]


async def check_temporal(settings: Settings, timeout_seconds: float) -> list[CheckResult]:
    """Temporal answers at RECAP_TEMPORAL_ADDRESS, the namespace exists, and recap's search
    attributes are registered in it (all Keyword). The line says how recap connected (plain
    gRPC, TLS, mTLS, an API key), never the key."""
    from recap.jobs.client import (
        TemporalSettingsError,
        connect,
        connection_security,
        uses_tls,
    )

    address, namespace = settings.temporal_address, settings.temporal_namespace
    where = f"{address}, namespace {namespace}"
    try:
        client = await asyncio.wait_for(connect(settings), timeout_seconds)
    except TemporalSettingsError as error:
        return _temporal_failed(
            where,
            f"cannot connect: {error}",
            "fix the RECAP_TEMPORAL_TLS_* setting named above (docs/operations.md, Temporal "
            "Cloud and secured clusters)",
        )
    except (ConnectionError, TimeoutError, RuntimeError) as error:
        reason = "no answer" if isinstance(error, TimeoutError) else why(error)
        fix = (
            "start Temporal (`recap dev` runs a dev server with the UI) or set "
            "RECAP_TEMPORAL_ADDRESS to your Temporal frontend (host:port)"
        )
        if uses_tls(settings):
            fix = (
                "check RECAP_TEMPORAL_ADDRESS and the TLS settings: "
                "RECAP_TEMPORAL_TLS_SERVER_CA_PATH and RECAP_TEMPORAL_TLS_SERVER_NAME for the "
                "server's certificate, RECAP_TEMPORAL_TLS_CERT_PATH and "
                "RECAP_TEMPORAL_TLS_KEY_PATH for mTLS, RECAP_TEMPORAL_API_KEY (`recap dev` "
                "serves plain gRPC: unset them for it)"
            )
        detail = f"cannot connect over {connection_security(settings)}: {reason}"
        return _temporal_failed(where, detail, fix)
    rpc_timeout = timedelta(seconds=timeout_seconds)
    namespace_failed = await _describe_namespace(client, address, namespace, rpc_timeout)
    if namespace_failed is not None:
        detail, fix = namespace_failed
        return _temporal_failed(where, detail, fix)
    reachable = f"reachable over {connection_security(settings)}, namespace exists"
    temporal = result("temporal", "Temporal", "pass", where, reachable)
    return [temporal, await _search_attributes(client, address, namespace, rpc_timeout)]


async def _describe_namespace(
    client: Client, address: str, namespace: str, rpc_timeout: timedelta
) -> tuple[str, str] | None:
    """None when the namespace exists, else what is wrong and its fix."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=rpc_timeout
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return (
                f"namespace {namespace} does not exist",
                f"create it with `temporal operator namespace create --address {address} "
                f"--namespace {namespace}`, or set RECAP_TEMPORAL_NAMESPACE to an existing one",
            )
        return (
            f"cannot describe namespace {namespace} ({error.status.name}: {error})",
            "check that this address is a Temporal frontend and that recap may "
            "describe the namespace",
        )
    return None


async def _search_attributes(
    client: Client, address: str, namespace: str, rpc_timeout: timedelta
) -> CheckResult:
    """recap's search attributes are registered in the namespace, each as Keyword."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.service import RPCError

    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), timeout=rpc_timeout
        )
    except RPCError as error:
        return _attributes(
            "fail",
            f"cannot list them ({error.status.name}: {error})",
            "register them as Keyword attributes with your Temporal's tools (Temporal "
            "Cloud: `tcld namespace search-attributes add`)",
        )
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    found = {**listed.system_attributes, **listed.custom_attributes}
    missing = [name for name in SEARCH_ATTRIBUTES if name not in found]
    wrong = [name for name in SEARCH_ATTRIBUTES if name in found and found[name] != keyword]
    if not missing and not wrong:
        return _attributes("pass", "registered")
    return _attributes(
        "fail",
        _attribute_problems(missing, wrong),
        _attribute_fix(missing, wrong, address, namespace),
    )


def _attribute_problems(missing: list[str], wrong: list[str]) -> str:
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if wrong:
        problems.append(f"not Keyword: {', '.join(wrong)}")
    return "; ".join(problems)


def _attribute_fix(missing: list[str], wrong: list[str], address: str, namespace: str) -> str:
    """The command that registers the missing ones; a namespace of their own for the
    ones registered with another type, which cannot be changed."""
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
    return fix
