"""The commands of ``bridge`` (bridge/__main__.py): database, seeding, tokens, server, scheduler."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from bridge.extensions import db
from bridge.unit_of_work import unit_of_work

# Commands hang on the app's own CLI (create_app registers them), so `flask` and `bridge` and
# the test runner see the same set.
commands = click.Group()


@commands.command("seed-reference")
@with_appcontext
def seed_reference_command() -> None:
    """Load Denmark's regions, 98 municipalities and 17 health councils (safe to run again)."""
    from bridge.domain.reference import seed_reference

    with unit_of_work(db.session()):
        counts = seed_reference(db.session())
    click.echo(
        f"{counts.regions} regions, {counts.municipalities} municipalities, "
        f"{counts.health_councils} health councils ({counts.created} new)"
    )


@commands.command("seed-demo")
@click.option("--patients", default=50, show_default=True, type=click.IntRange(1, 5000))
@with_appcontext
def seed_demo_command(patients: int) -> None:
    """Load the demo data set and print a fresh API token for each demo role."""
    from bridge.bootstrap import scheduled_jobs
    from bridge.config import current_settings
    from bridge.domain.base import utcnow
    from bridge.jobs.runner import execute_job
    from bridge.sampledata.demo import DEMO_PASSWORD, seed_demo

    with unit_of_work(db.session()):
        result = seed_demo(db.session(), patients=patients)
    # One scan now, so the nurse's worklist is filled before the scheduler's first run.
    [gap_scan] = [j for j in scheduled_jobs(current_settings()) if j.name == "gap_scan"]
    with unit_of_work(db.session()):
        scan = execute_job(db.session(), gap_scan.name, gap_scan.job, utcnow())
    opened = sum(c["opened"] for c in scan.summary.values() if isinstance(c, dict))
    click.echo(f"Demo data ready: {result.patients} patients, {opened} gaps found by a first scan.")

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

    with unit_of_work(db.session()):
        secret = create_admin(db.session(), name=name, email=email)
    click.echo(secret)


@commands.command("dispatch")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10000))
@with_appcontext
def dispatch_command(batch_size: int) -> None:
    """Deliver due notifications once (one dispatcher pass) and print a summary."""
    from sqlalchemy.orm import Session

    from bridge.adapters.dispatcher import dispatch_once
    from bridge.config import current_settings
    from bridge.domain.base import utcnow
    from bridge.jobs.dispatch import settings_from

    settings, transport = settings_from(current_settings())
    with Session(bind=db.engine) as session:
        summary = dispatch_once(
            session, utcnow(), batch_size=batch_size, settings=settings, transport=transport
        )
    transport.close()
    click.echo(" ".join(f"{k}={v}" for k, v in summary.as_dict().items()))


@commands.command("set-password")
@click.option("--email", required=True, help="the staff member's email")
@with_appcontext
def set_password_command(email: str) -> None:
    """Set a staff member's web password (asked for at a prompt, never taken from argv)."""
    from bridge.domain.auth.services import find_staff_by_email, set_password
    from bridge.domain.base import utcnow
    from bridge.domain.errors import RuleViolation

    staff = find_staff_by_email(db.session(), email)
    if staff is None:
        raise click.ClickException(f"no staff member has the email {email}")
    # Reads from the terminal without echo, or from stdin when piped (for scripts).
    password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work(db.session()):
            set_password(db.session(), staff, password, utcnow())
    except RuleViolation as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Password set for {staff.name}; their other sessions have ended.")


@commands.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in this process (one per deployment is enough; more are safe)."""
    from bridge.bootstrap import scheduled_jobs
    from bridge.config import current_settings
    from bridge.jobs.scheduler import run_scheduler

    # The scheduler's threads outlive this context, so they get the app itself, not the proxy
    # (the stubs type current_app as the Flask it stands for).
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_scheduler(app, scheduled_jobs(current_settings()))


@commands.command("scan")
@click.option("--rule", "rules", multiple=True, help="only these rules (repeatable)")
@with_appcontext
def scan_command(rules: tuple[str, ...]) -> None:
    """Run the gap scan once now and print what it opened, kept and resolved."""
    from bridge.config import current_settings
    from bridge.domain.base import utcnow
    from bridge.domain.gaps.engine import run_gap_scan
    from bridge.jobs.runner import execute_job

    with unit_of_work(db.session()):
        outcome = execute_job(
            db.session(),
            "gap_scan",
            lambda s, now: run_gap_scan(
                s, now, current_settings().gap_config(), rules=list(rules) or None
            ),
            utcnow(),
        )
    if not outcome.ran:
        click.echo("another scan is running; nothing done")
        return
    click.echo(f"{'rule':32} {'opened':>6} {'open':>6} {'resolved':>8}")
    for rule, counts in outcome.summary.items():
        click.echo(
            f"{rule:32} {counts['opened']:>6} {counts['still_open']:>6} {counts['resolved']:>8}"
        )


@commands.command("seed-synthetic")
@click.option("--patients", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@with_appcontext
def seed_synthetic_command(patients: int, seed: int) -> None:
    """Generate a national-size synthetic data set for benchmarks (deterministic per seed)."""
    import time

    from bridge.sampledata.synthetic import seed_synthetic

    started = time.perf_counter()
    with unit_of_work(db.session()):
        counts = seed_synthetic(db.session(), patients=patients, seed=seed)
    took = time.perf_counter() - started
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()) + f" ({took:.1f} s)")


def register_commands(app: Flask) -> None:
    """Attach Bridge's commands to ``app.cli``."""
    for command in commands.commands.values():
        app.cli.add_command(command)
