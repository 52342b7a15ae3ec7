"""French and Dutch page texts: the catalogues are complete and correct, the pages really switch language,
and every string marked for translation in the code is in the catalogues.

The catalogues are ``locale/<lang>/LC_MESSAGES/django.po`` (committed); ``make messages`` compiles them into
``.mo`` files (build output). See README, "Languages".
"""

import html
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from certification.tenancy import tenant_scope

ROOT = Path(__file__).resolve().parent.parent
LANGS = [code for code, _name in settings.LANGUAGES if code != "en"]


# --- a small .po parser (polib is not a dependency) -------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")\s*$')


def _unquote(text):
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"not a quoted PO string: {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def parse_po(text):
    """Return the entries of a .po file as dicts: flags (set), msgctxt, msgid, msgid_plural, msgstr (list),
    line (where the entry starts). Obsolete entries (``#~``) are skipped."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": {}, "line": number}
        if line.startswith("#~"):
            entry["obsolete"] = True
            continue
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            field, value = match.group(1), _unquote(match.group(2))
            if field.startswith("msgstr"):
                index = int(field[7:-1]) if field != "msgstr" else 0
                entry["msgstr"][index] = value
                field = ("msgstr", index)
            else:
                entry[field] = value
        elif line.startswith('"') and field is not None:
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += _unquote(line)
            else:
                entry[field] += _unquote(line)
        else:
            raise ValueError(f"line {number}: cannot parse {raw!r}")
    finish()
    result = []
    for e in entries:
        if e.pop("obsolete", False):
            continue
        e["msgstr"] = [e["msgstr"][i] for i in sorted(e["msgstr"])]
        result.append(e)
    return result


def catalogue_path(lang):
    return ROOT / "locale" / lang / "LC_MESSAGES" / "django.po"


def read_catalogue(lang):
    return parse_po(catalogue_path(lang).read_text(encoding="utf-8"))


def header_fields(entries):
    header = next(e for e in entries if e["msgid"] == "" and e["msgctxt"] is None)
    return header, dict(line.split(": ", 1) for line in header["msgstr"][0].splitlines() if ": " in line)


# What must survive translation unchanged: printf-style placeholders (%(name)s, %s, %d, %%), brace
# placeholders when the entry is brace-formatted, template variables, and HTML tags.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")
_BRACE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?:![rsa])?(?::[^{}]*)?\}")
_TEMPLATE_VAR = re.compile(r"\{\{.*?\}\}")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def placeholders(text, flags):
    found = _PERCENT.findall(text) + _TEMPLATE_VAR.findall(text) + _TAG.findall(text)
    if "python-brace-format" in flags:
        found += _BRACE.findall(text)
    return Counter(found)


def catalogue_problems(entries, nplurals):
    """Every problem in a parsed catalogue, as readable lines."""
    problems = []
    for e in entries:
        where = f"line {e['line']} {e['msgid']!r}"
        if "fuzzy" in e["flags"]:
            problems.append(f"{where}: fuzzy")
        if e["msgid"] == "" and e["msgctxt"] is None:
            continue  # the header
        expected = nplurals if e["msgid_plural"] is not None else 1
        if len(e["msgstr"]) != expected:
            problems.append(f"{where}: {len(e['msgstr'])} msgstr forms, expected {expected}")
        for index, text in enumerate(e["msgstr"]):
            if not text.strip():
                problems.append(f"{where}: empty msgstr[{index}]")
                continue
            source = e["msgid"] if index == 0 or e["msgid_plural"] is None else e["msgid_plural"]
            if placeholders(text, e["flags"]) != placeholders(source, e["flags"]):
                problems.append(f"{where}: placeholders differ in msgstr[{index}]: "
                                f"{sorted(placeholders(source, e['flags']).elements())} vs "
                                f"{sorted(placeholders(text, e['flags']).elements())}")
    return problems


# --- (a) the catalogues are complete and correct -----------------------------------------------------------

def test_languages_are_french_and_dutch():
    assert LANGS == ["fr", "nl"]
    assert settings.USE_I18N and Path(settings.LOCALE_PATHS[0]) == ROOT / "locale"
    assert "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_is_complete_with_no_fuzzy_or_empty_entry_and_the_same_placeholders(lang):
    entries = read_catalogue(lang)
    header, fields = header_fields(entries)
    assert fields["Language"] == lang
    match = re.search(r"nplurals=(\d+)", fields["Plural-Forms"])
    assert match and int(match.group(1)) == 2, fields["Plural-Forms"]
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    messages = [e for e in entries if e is not header]
    assert len(messages) > 500, "the catalogue lost its entries"
    problems = catalogue_problems(entries, nplurals=2)
    assert not problems, f"{catalogue_path(lang)}:\n" + "\n".join(problems)


def test_both_catalogues_hold_the_same_messages():
    keys = {lang: {(e["msgctxt"], e["msgid"], e["msgid_plural"]) for e in read_catalogue(lang)} for lang in LANGS}
    assert keys["fr"] == keys["nl"], {"only fr": keys["fr"] - keys["nl"], "only nl": keys["nl"] - keys["fr"]}


def test_the_catalogue_check_catches_each_kind_of_mistake():
    bad = '''msgid ""
msgstr ""
"Language: fr\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

#, fuzzy
msgid "Draft"
msgstr "Brouillon"

msgid "Save"
msgstr ""

#, python-format
msgid "Version %(v)s published."
msgstr "Version %(version)s publiée."

#, python-format
msgid "%(n)s problem"
msgid_plural "%(n)s problems"
msgstr[0] "%(n)s problème"

msgid "<strong>Bold</strong> move"
msgstr "<strong>Audacieux</b> geste"

#, python-format
msgid "Page %(n)s of %(total)s"
msgstr ""
"Page %(n)s "
"sur %(total)s"

#~ msgid "Gone"
#~ msgstr ""
'''
    entries = parse_po(bad)
    assert [e["msgid"] for e in entries][1:] == ["Draft", "Save", "Version %(v)s published.", "%(n)s problem",
                                                 "<strong>Bold</strong> move", "Page %(n)s of %(total)s"]
    assert entries[-1]["msgstr"] == ["Page %(n)s sur %(total)s"]
    problems = "\n".join(catalogue_problems(entries, nplurals=2))
    assert "'Draft': fuzzy" in problems
    assert "'Save': empty msgstr[0]" in problems
    assert "'Version %(v)s published.': placeholders differ" in problems
    assert "'%(n)s problem': 1 msgstr forms, expected 2" in problems
    assert "'<strong>Bold</strong> move': placeholders differ" in problems
    assert "Page" not in problems and "Gone" not in problems


# --- (b) the pages show French and Dutch -------------------------------------------------------------------

@pytest.fixture
def compiled_catalogues():
    stale = [str(catalogue_path(lang).with_suffix(".mo")) for lang in LANGS
             if not catalogue_path(lang).with_suffix(".mo").exists()
             or catalogue_path(lang).with_suffix(".mo").stat().st_mtime < catalogue_path(lang).stat().st_mtime]
    if stale:
        pytest.fail(f"compiled catalogues missing or older than their .po: {stale}; run `make messages` "
                    "(needs GNU gettext's msgfmt: `make system-deps`)")


def choose_language(client, lang, next_url):
    """Use the switcher in the page header: POST /i18n/setlang/ sets the language cookie."""
    response = client.post(reverse("set_language"), {"language": lang, "next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == lang


def page_text(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


EXPECTED = {
    # page: {lang: texts that must appear}; the English originals must not.
    "login": {
        "en": ["Log in", "Password", "Forgotten your password?"],
        "fr": ["Se connecter", "Mot de passe", "Mot de passe oublié ?"],
        "nl": ["Aanmelden", "Wachtwoord", "Wachtwoord vergeten?"],
    },
    "staff": {
        "en": ["Dashboard", "Regulations", "Inspection plans", "Audit trail", "licence-holders", "staff members",
               "Log out"],
        "fr": ["Tableau de bord", "Règlements", "Plans d'inspection", "Piste d'audit", "titulaires",
               "membres du personnel", "Se déconnecter"],
        "nl": ["Dashboard", "Reglementen", "Inspectieplannen", "Audittrail", "licentiehouders", "personeelsleden",
               "Afmelden"],
    },
    "portal": {
        "en": ["Company number", "Certification body", "Production sites", "Apply for certification",
               "Self-monitoring", "Inspection reports", "Users of your company", "Bituminous mixtures"],
        "fr": ["Numéro d'entreprise", "Organisme de certification", "Sites de production",
               "Demander la certification", "Autocontrôle", "Rapports d'inspection",
               "Utilisateurs de votre entreprise", "Mélanges bitumineux"],
        "nl": ["Ondernemingsnummer", "Certificatie-instelling", "Productievestigingen", "Certificatie aanvragen",
               "Zelfcontrole", "Inspectieverslagen", "Gebruikers van uw onderneming", "Bitumineuze mengsels"],
    },
    "verify": {
        "en": ["Verify a certificate or a delivery", "Licence-holder", "Products covered", "Status today",
               "Certified (active)", "Status history"],
        "fr": ["Vérifier un certificat ou une livraison", "Titulaire", "Produits couverts", "Statut aujourd'hui",
               "Certifié (actif)", "Historique du statut"],
        "nl": ["Een certificaat of een levering controleren", "Licentiehouder", "Gedekte producten",
               "Status vandaag", "Gecertificeerd (actief)", "Statusgeschiedenis"],
    },
}

# English words that happen to be the same in a translation are not expected to disappear.
_SAME_IN = {("staff", "nl", "Dashboard")}


def assert_language(text, page, lang):
    assert f'<html lang="{lang}">' in text, (page, lang)
    missing = [s for s in EXPECTED[page][lang] if s not in text]
    assert not missing, f"{page} in {lang}: missing {missing}"
    if lang != "en":
        left_in_english = [s for s in EXPECTED[page]["en"] if s in text and (page, lang, s) not in _SAME_IN
                           and s not in EXPECTED[page][lang]]
        assert not left_in_english, f"{page} in {lang}: still English {left_in_english}"


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGS)
def test_login_staff_portal_and_verification_pages_follow_the_chosen_language(
        client, login, world, compiled_catalogues, lang):
    a = world.a
    pages = {
        "login": reverse("login"),
        "verify": reverse("public:verify-certificate", kwargs={"number": a.certificate.full_number}),
        "staff": reverse("staff:dashboard"),
        "portal": reverse("portal:home"),
    }
    # Anonymous: the switcher's POST sets the cookie; the login and public pages follow it.
    client.logout()
    for page in ("login", "verify"):
        assert_language(page_text(client, pages[page]), page, "en")
    choose_language(client, lang, pages["login"])
    for page in ("login", "verify"):
        assert_language(page_text(client, pages[page]), page, lang)

    # Logged in: staff and portal pages (the test client's log-out drops every cookie, so choose again).
    login(a.admin)
    choose_language(client, lang, pages["staff"])
    assert_language(page_text(client, pages["staff"]), "staff", lang)
    login(a.holder_user)
    choose_language(client, lang, pages["portal"])
    assert_language(page_text(client, pages["portal"]), "portal", lang)

    # And back to English with the same switcher.
    choose_language(client, "en", pages["portal"])
    assert_language(page_text(client, pages["portal"]), "portal", "en")


@pytest.mark.django_db
def test_the_language_cookie_alone_is_enough(client, world, compiled_catalogues):
    url = reverse("public:verify-certificate", kwargs={"number": world.a.certificate.full_number})
    for lang in LANGS:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        assert_language(page_text(client, url), "verify", lang)


@pytest.mark.django_db
def test_a_persons_choice_is_remembered_for_new_devices_and_their_e_mails(
        client, login, world, compiled_catalogues, mailoutbox, django_capture_on_commit_callbacks):
    from django.test import Client

    from certification.models import User
    from licences.models import HolderMembership
    from licences.services import do_invite_holder_user

    a = world.a
    login(a.admin)
    choose_language(client, "nl", reverse("staff:dashboard"))
    assert User.objects.get(pk=a.admin.pk).language == "nl"
    # A new device (no cookie yet) follows the remembered language; a cookie chosen on a device wins.
    device = Client()
    device.force_login(a.admin)
    assert_language(page_text(device, reverse("staff:dashboard")), "staff", "nl")
    device.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert_language(page_text(device, reverse("staff:dashboard")), "staff", "fr")
    # An anonymous switch remembers nothing (there is nobody to remember it for).
    client.logout()
    choose_language(client, "fr", reverse("login"))
    assert User.objects.get(pk=a.admin.pk).language == "nl"
    # An invitation is written in the invitee's remembered language.
    invitee = User.objects.create_user(email="colleague@holder1.test", language="fr")
    with tenant_scope(a.body), django_capture_on_commit_callbacks(execute=True):
        do_invite_holder_user(holder=a.holder, email=invitee.email, role=HolderMembership.Role.CONTRIBUTOR,
                              invited_by=a.holder_user)
    assert mailoutbox[-1].to == [invitee.email]
    assert mailoutbox[-1].subject.startswith("Invitation au portail")
    assert "Choisissez votre mot de passe" in mailoutbox[-1].body


# --- (c) every string marked in the code is in the catalogues -----------------------------------------------

def makemessages_ignore_patterns():
    """The --ignore patterns `make messages-update` uses (one list, in the Makefile)."""
    makefile = (ROOT / "Makefile").read_text()
    block = re.search(r"^MESSAGES_IGNORE\s*:=((?:.*\\\n)*.*)$", makefile, re.M)
    assert block, "MESSAGES_IGNORE is not defined in the Makefile"
    return re.findall(r"--ignore=(\S+)", block.group(1))


def test_every_marked_string_is_in_the_catalogues(tmp_path):
    """Run makemessages on a copy of the sources (not touching locale/) and compare the message ids."""
    ignore = makemessages_ignore_patterns()
    assert {".venv", "staticfiles", "media", "node_modules"} <= set(ignore)
    source_patterns = shutil.ignore_patterns(*ignore, "locale", ".git", "__pycache__", "*.pyc", "*.sqlite3",
                                             ".pytest_cache", ".ruff_cache", "*.mo", "*.po")
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=source_patterns, symlinks=True)
    env = {**os.environ, "DJANGO_DEBUG": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", *(f"-l{lang}" for lang in LANGS),
         *(f"--ignore={pattern}" for pattern in ignore)],
        cwd=copy, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    missing = {}
    for lang in LANGS:
        fresh = parse_po((copy / "locale" / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
        committed = {(e["msgctxt"], e["msgid"], e["msgid_plural"]) for e in read_catalogue(lang)}
        assert len(fresh) > 500, "makemessages found almost nothing: is the copy complete?"
        absent = [e["msgid"] for e in fresh if (e["msgctxt"], e["msgid"], e["msgid_plural"]) not in committed]
        if absent:
            missing[lang] = absent
    assert not missing, (
        "strings marked for translation are missing from the catalogues; run `make messages-update`, translate "
        "the new entries in locale/*/LC_MESSAGES/django.po, then `make messages`:\n"
        + "\n".join(f"{lang}: {msgid!r}" for lang, ids in missing.items() for msgid in ids))


# --- (d) texts marked in Python code and the bare 500 page follow the active language ------------------------

def test_python_messages_labels_and_the_500_page_follow_the_active_language(compiled_catalogues):
    from django.template import loader
    from django.utils import translation

    from certification.forms import MemberChangeForm
    from sampling.forms import LabUserForm
    from sampling.services import ImportRejected

    expected = {
        "en": ("1 bad row; nothing was imported.", "3 bad rows; nothing was imported.", "Full name", "Active",
               "Server error"),
        "fr": ("1 ligne incorrecte ; rien n'a été importé.", "3 lignes incorrectes ; rien n'a été importé.",
               "Nom complet", "Actif", "Erreur du serveur"),
        "nl": ("1 foute rij; er werd niets ingevoerd.", "3 foute rijen; er werd niets ingevoerd.", "Volledige naam",
               "Actief", "Serverfout"),
    }
    for lang, (one, three, full_name, active, server_error) in expected.items():
        with translation.override(lang):
            # the count is of distinct bad lines (two errors on line 2 count once)
            assert ImportRejected([(2, "date", "x"), (2, "value", "y")]).messages == [one]
            assert ImportRejected([(2, "date", "x"), (3, "date", "x"), (5, "unit", "z")]).messages == [three]
            assert LabUserForm()["full_name"].label == full_name
            assert MemberChangeForm()["is_active"].label == active  # msgctxt "member account"
            page = loader.get_template("500.html").render()
            assert f'<html lang="{lang}">' in page and f"<h1>{server_error}</h1>" in page


# --- (e) licences flash messages, validation errors and holder e-mails follow the language ---------------------

@pytest.mark.django_db
@pytest.mark.parametrize("lang,flash,refusal", [
    ("fr", "Site ajouté.", "Téléversez la copie signée ou confirmez par voie électronique."),
    ("nl", "Vestiging toegevoegd.", "Laad het ondertekende exemplaar op of bevestig elektronisch."),
])
def test_licences_flash_message_and_validation_error_follow_the_language(
        client, login, world, compiled_catalogues, lang, flash, refusal):
    from django.contrib.messages import get_messages
    from django.utils import translation

    from licences.forms import ConfirmForm

    a = world.a
    with translation.override(lang):
        form = ConfirmForm(data={})
        assert not form.is_valid() and form.non_field_errors() == [refusal]
    # the portal's flash message after adding a site, in the language chosen with the switcher
    login(a.holder_user)
    choose_language(client, lang, reverse("portal:home"))
    response = client.post(reverse("portal:site-create"), {"name": f"Site {lang}", "address": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [str(m) for m in get_messages(response.wsgi_request)] == [flash]


@pytest.mark.django_db
def test_expiry_notice_is_written_in_each_recipient_users_language(
        world, mailoutbox, django_capture_on_commit_callbacks, compiled_catalogues):
    """A manager whose User.language is Dutch gets the Dutch notice; the holder's own address (no user, and
    neither holder nor body records a language) gets the active language, here French."""
    import datetime as dt

    from django.utils import timezone, translation

    from certification.tenancy import tenant_scope
    from licences import services
    from licences.models import Licence, LicenceExpiryNotice, LicenceHolder

    a = world.a
    a.holder_user.language = "nl"
    a.holder_user.save(update_fields=["language"])
    today = timezone.localdate()
    with tenant_scope(a.body):
        Licence.objects.filter(pk=a.licence.pk).update(expires_on=today + dt.timedelta(days=20))
        LicenceExpiryNotice.objects.filter(licence=a.licence).delete()
        with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
            assert services.do_send_expiry_notice(licence=a.licence, today=today) is not None
    mails = {tuple(m.to): m for m in mailoutbox if a.licence.number in m.subject}
    assert set(mails) == {(a.holder.email.lower(),), (a.holder_user.email.lower(),)}
    dutch, french = mails[(a.holder_user.email.lower(),)], mails[(a.holder.email.lower(),)]
    assert dutch.subject.startswith(f"Licentie {a.licence.number} vervalt op")
    assert "(20 dagen vanaf" in dutch.body and "Geachte" in dutch.body
    assert french.subject.startswith(f"La licence {a.licence.number} expire le")
    assert "(20 jours à partir du" in french.body

    # The holder records Dutch as its language of correspondence: its own address now gets Dutch too, even
    # when the action happens in French.
    mailoutbox.clear()
    with tenant_scope(a.body):
        LicenceHolder.objects.filter(pk=a.holder.pk).update(language="nl")
        LicenceExpiryNotice.objects.filter(licence=a.licence).delete()
        licence = Licence.objects.select_related("holder").get(pk=a.licence.pk)
        with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
            assert services.do_send_expiry_notice(licence=licence, today=today) is not None
    (mail,) = [m for m in mailoutbox if a.licence.number in m.subject]
    assert set(mail.to) == {a.holder.email.lower(), a.holder_user.email.lower()}
    assert mail.subject.startswith(f"Licentie {a.licence.number} vervalt op")
