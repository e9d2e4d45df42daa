"""recap's pages for people, under `/ui/`: server-rendered Jinja2 templates, readable
without JavaScript, for a team's members signed in with a password or a recap key.

`install` adds the pages to the API's app; they are left out of the OpenAPI document.
"""

from __future__ import annotations

from recap.api.ui.pages import install

__all__ = ["install"]
