"""The ``bridge`` command: database, seeding, tokens, web server and scheduler."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from bridge import create_app
from bridge.extensions import db


@click.group(cls=FlaskGroup, create_app=create_app)
def main() -> None:
    """Bridge: care coordination for bridge-builder nurses."""


# Commands hang on the app's own CLI (create_app registers them), so `flask` and `bridge` and
# the test runner see the same set.
commands = click.Group()


@commands.command("seed-reference")
@with_appcontext
def seed_reference_command() -> None:
    """Load Denmark's 5 regions and 98 municipalities (safe to run again)."""
    from bridge.domain.seeding import seed_reference

    counts = seed_reference(db.session)
    db.session.commit()
    click.echo(
        f"{counts.regions} regions, {counts.municipalities} municipalities ({counts.created} new)"
    )


@commands.command("seed-demo")
@click.option("--patients", default=50, show_default=True, type=click.IntRange(1, 5000))
@with_appcontext
def seed_demo_command(patients: int) -> None:
    """Load the demo data set and print a fresh API token for each demo role."""
    from bridge.domain.seeding import seed_demo

    result = seed_demo(db.session, patients=patients)
    db.session.commit()
    click.echo(f"Demo data ready: {result.patients} patients.")
    from bridge.domain.seeding import DEMO_PASSWORD

    click.echo(
        f"Web login (http://127.0.0.1:5000/login): nurse.anna@bridge.demo, nurse.bo@bridge.demo, "
        f"nurse.cecilie@bridge.demo or admin@bridge.demo, password '{DEMO_PASSWORD}'"
    )
    click.echo("API tokens (shown once; use as 'Authorization: Bearer <token>'):")
    for who, token in result.tokens.items():
        click.echo(f"  {who:32} {token}")


@commands.command("create-admin")
@click.option("--name", default="Administrator", show_default=True)
@click.option("--email", default=None)
@with_appcontext
def create_admin_command(name: str, email: str | None) -> None:
    """Create an admin and print their new API token."""
    from bridge.domain.registry.admin import create_admin

    secret = create_admin(db.session, name=name, email=email)
    db.session.commit()
    click.echo(secret)


@commands.command("set-password")
@click.option("--email", required=True, help="the staff member's email")
@with_appcontext
def set_password_command(email: str) -> None:
    """Set a staff member's web password (asked for at a prompt, never taken from argv)."""
    from bridge.domain.auth.services import find_staff_by_email, set_password
    from bridge.domain.base import utcnow
    from bridge.domain.errors import RuleViolation

    staff = find_staff_by_email(db.session, email)
    if staff is None:
        raise click.ClickException(f"no staff member has the email {email}")
    # Reads from the terminal without echo, or from stdin when piped (for scripts).
    password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(db.session, staff, password, utcnow())
    except RuleViolation as exc:
        raise click.ClickException(exc.detail) from None
    db.session.commit()
    click.echo(f"Password set for {staff.name}; their other sessions have ended.")


@commands.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in this process (one per deployment is enough; more are safe)."""
    from bridge.jobs.scheduler import run_scheduler

    run_scheduler(current_app._get_current_object())


def register_commands(app) -> None:
    """Attach Bridge's commands to ``app.cli``."""
    for command in commands.commands.values():
        app.cli.add_command(command)
