"""Every text of the web pages has a Danish translation, and the compiled catalogues are current."""

from importlib import resources
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "bridge" / "translations"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def extracted_msgids() -> set[str]:
    keywords = {"_": None, "gettext": None, "_N": None}
    return {
        msg if isinstance(msg, str) else msg[0]
        for _file, _line, msg, _comments, _ctx in extract_from_dir(
            ROOT / "bridge" / "web", METHODS, keywords=keywords
        )
    }


def catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def test_every_text_of_the_web_pages_has_a_danish_translation():
    da = catalogue("da")
    ids = extracted_msgids()
    assert len(ids) > 100
    missing = sorted(i for i in ids if not (da.get(i) and da.get(i).string))
    assert missing == []


def test_the_compiled_catalogues_match_their_sources():
    for lang in ("da", "en"):
        source = {_key(m.id): _key(m.string) for m in catalogue(lang) if m.id}
        mo = resources.files("bridge").joinpath(f"translations/{lang}/LC_MESSAGES/messages.mo")
        compiled = {
            _key(m.id): _key(m.string)
            for m in read_mo(BytesIO(mo.read_bytes()))
            if m.id and m.string
        }
        # English pages show the msgids themselves; only Danish must carry every text.
        assert len(compiled) > (100 if lang == "da" else 0), f"the {lang} .mo is (nearly) empty"
        assert compiled == {k: v for k, v in source.items() if v and all(v)}, (
            f"run: pybabel compile -d bridge/translations ({lang})"
        )


def _key(value):
    # Plural entries come as lists from the .mo reader and tuples from the .po reader.
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_access_log_names_every_resource_kind_in_danish(app):
    from flask_babel import force_locale

    from bridge.web.labels import label

    with app.test_request_context(), force_locale("da"):
        assert label("resource", "follow_up") == "Opfølgningsopgave"
        assert label("resource", "network_meeting") == "Netværksmøde"
