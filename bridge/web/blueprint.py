"""The web blueprint and what its pages share: CSRF protection, translations, the language."""

from __future__ import annotations

from flask import Blueprint, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/web/static",
)
csrf = CSRFProtect()
babel = Babel()


def current_language() -> str:
    """The language the user picked (kept in the session), Danish unless they chose English."""
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE
