"""The ``bridge`` command (also ``python -m bridge``): the app's own CLI, as create_app builds it
(commands in bridge/cli.py)."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from bridge import create_app
from bridge.config import Settings, SettingsError, from_environment


def _app_with(settings: Settings) -> FlaskGroup:
    def build() -> Flask:
        return create_app(settings=settings)

    @click.group(cls=FlaskGroup, create_app=build)
    def cli() -> None:
        """Bridge: care coordination for bridge-builder nurses."""

    return cli


def main() -> None:
    """Read the settings first, so a bad one stops every command with its name, not a
    traceback from whichever part first needed it."""
    try:
        settings = from_environment()
    except SettingsError as exc:
        click.echo(f"bridge: cannot start: {exc}", err=True)
        sys.exit(2)
    _app_with(settings)()


if __name__ == "__main__":
    main()
