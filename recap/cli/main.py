"""The `recap` command table: every command and command group, in the order `recap --help`
lists them. Each command lives in the module named for what it does."""

from __future__ import annotations

import typer

from recap.cli.batch import batch_app
from recap.cli.clusters import clusters_app, similar
from recap.cli.destinations import destinations_app
from recap.cli.doctor import doctor
from recap.cli.funnels import funnel
from recap.cli.journeys import journey
from recap.cli.keys import keys_app
from recap.cli.reports import report_app
from recap.cli.schedule import schedule_app
from recap.cli.serve import api, demo, dev, worker
from recap.cli.sessions import fetch, summarize, timeline
from recap.cli.teams import teams_app
from recap.cli.users import users_app

app = typer.Typer(
    name="recap",
    help="AI summaries of PostHog session recordings, on Temporal, with any OpenAI-compatible "
    "model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# One recording or a few sessions (recap/cli/sessions.py).
app.command("timeline")(timeline)
app.command("fetch")(fetch)
app.command("summarize")(summarize)
# recap's processes and the embedded stack (serve.py), and the checks of what they use.
app.command("worker")(worker)
app.command("dev")(dev)
app.command("doctor")(doctor)
app.command("api")(api)
app.command("demo")(demo)
# Across a team's sessions (clusters.py).
app.command("similar")(similar)
app.command("funnel")(funnel)
# One person across their sessions (journeys.py).
app.command("journey")(journey)

app.add_typer(batch_app, name="batch")
app.add_typer(schedule_app, name="schedule", help="scheduled summaries (Temporal Schedules)")
app.add_typer(clusters_app, name="clusters", help="error clusters across sessions")
app.add_typer(report_app, name="report", help="pattern reports across sessions")
app.add_typer(keys_app, name="keys", help="API keys: create, list, revoke")
app.add_typer(teams_app, name="teams", help="teams and their own recording sources")
app.add_typer(users_app, name="users", help="people who sign in to recap's pages")
app.add_typer(destinations_app, name="destinations", help="where reports and digests are delivered")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
