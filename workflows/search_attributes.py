"""The typed keys of the search attributes operators filter recap's workflows by in the
Temporal UI (team, session, status), made once from the names in `recap.core.naming`."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

from recap.core.naming import (
    SEARCH_ATTRIBUTE_SESSION,
    SEARCH_ATTRIBUTE_STATUS,
    SEARCH_ATTRIBUTE_TEAM,
)

TEAM = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_TEAM)
SESSION = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_SESSION)
STATUS = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATUS)
