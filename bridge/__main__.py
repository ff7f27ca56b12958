"""The ``bridge`` command (also ``python -m bridge``): the app's own CLI, as create_app builds it
(commands in bridge/cli.py)."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from bridge import create_app


@click.group(cls=FlaskGroup, create_app=create_app)
def main() -> None:
    """Bridge: care coordination for bridge-builder nurses."""


if __name__ == "__main__":
    main()
