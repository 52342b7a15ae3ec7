"""The inspector's mobile form in a real browser (Debian chromium, phone viewport), including offline work.

Done-criterion of the inspections issue: a visit goes from assigned to submitted; one change is made
while the browser is offline (the page is even reloaded offline, from the service worker's copy), kept on
the device, and replayed when back online; replaying it again with the same Idempotency-Key creates nothing.
"""

import pytest
from django.db import connections
from django.utils import timezone

from certification.tenancy import tenant_scope
from inspections import services
from inspections.models import Finding, Visit
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def assigned_visit(transactional_db, world):
    a = world.a
    with tenant_scope(a.body):
        visit = Visit.objects.create(body=a.body, licence=a.insp_licence, site=a.insp_site,
                                     planned_for=timezone.localdate(), kind=Visit.Kind.PERIODIC)
        visit = services.do_assign(visit=visit, inspector=a.inspector)
    return visit


def _wait_synced(page, state=None):
    page.wait_for_function("document.getElementById('sync-status').dataset.pending === '0'", timeout=15000)
    if state:
        page.wait_for_function(f"document.getElementById('visit-app').dataset.state === '{state}'", timeout=15000)


def _phone(p, live_server, user, next_path, **context_options):
    """A logged-in phone: (browser, context, page, page errors)."""
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  **context_options)
    page = context.new_page()
    page.set_default_timeout(20000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("#id_username", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return browser, context, page, errors


def _sign(page, name):
    page.fill("input[name=signer]", name)
    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 30)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 30 + (step % 3) * 20)
    page.mouse.up()
    page.click("#save-signature")


def _findings(visit):
    with tenant_scope(visit.body_id):
        return list(Finding.objects.filter(visit=visit).values_list("description", flat=True))


@pytest.fixture
def plain_static(settings, monkeypatch):
    """The live server serves static files from the finders, by their plain names (not the manifest's).
    Playwright's sync API runs an event loop: Django's async-safety check is lifted for this test only
    (monkeypatch restores the environment, so later subprocesses such as `check --deploy` never see it)."""
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_visit_from_assigned_to_submitted_with_offline_replay(live_server, plain_static, world, assigned_visit):
    from playwright.sync_api import sync_playwright

    visit = assigned_visit
    with sync_playwright() as p:
        browser, context, page, errors = _phone(p, live_server, world.a.inspector, "/inspector/",
                                                device_scale_factor=2)
        page.wait_for_url("**/inspector/")
        page.click(f"a[href='/inspector/visits/{visit.pk}/']")
        page.wait_for_selector("#visit-app")
        # The service worker keeps this page (and its JS/CSS) on the device.
        page.wait_for_function("navigator.serviceWorker.ready.then(Boolean)", timeout=15000)
        page.wait_for_function("caches.match(location.pathname).then(Boolean)", timeout=15000)

        page.click("#start-visit")
        _wait_synced(page, "in_progress")
        for item in world.a.insp_items:
            page.check(f"input[name=result-{item.pk}][value=compliant]")
        page.fill(f"textarea[name=remark-{world.a.insp_items[0].pk}]", "Manual version 7 seen")
        page.click("#save-checklist")
        _wait_synced(page)

        # --- offline: the finding is kept on the device ---
        context.set_offline(True)
        page.select_option("select[name=severity]", "major")
        page.fill("textarea[name=description]", "Sieve calibration overdue (found offline)")
        page.click("#add-finding")
        page.wait_for_function("document.getElementById('sync-status').dataset.pending === '1'")
        assert "Offline" in page.inner_text("#sync-status")
        assert _findings(visit) == []
        key = page.evaluate("JSON.parse(localStorage.getItem('inspections.queue.v1'))[0].key")
        # Reload while offline: the service worker serves the page, the queue is still there.
        page.reload()
        page.wait_for_selector("#visit-app")
        page.wait_for_function("document.getElementById('sync-status').dataset.pending === '1'")
        assert "not yet sent" in page.inner_text("#findings-list")

        # --- back online: replayed once ---
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        _wait_synced(page)
        assert _findings(visit) == ["Sieve calibration overdue (found offline)"]
        # A second replay of the same submission (as after a lost answer) creates nothing.
        replay = page.evaluate(
            """async ([url, key, version]) => {
                const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
                const r = await fetch(url, {method: 'POST', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json', 'Idempotency-Key': key, 'If-Match': String(version),
                              'X-CSRFToken': csrf},
                    body: JSON.stringify({severity: 'major', description: 'Sieve calibration overdue (found offline)'})});
                return [r.status, r.headers.get('Idempotent-Replay')];
            }""",
            [f"/inspector/visits/{visit.pk}/op/finding/", key, 1],
        )
        assert replay == [200, "true"]
        assert len(_findings(visit)) == 1

        # --- signature of the holder's representative, then submit ---
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone, no zoom-out
        _sign(page, "Jan Peeters")
        _wait_synced(page)
        page.wait_for_selector("#signature-done", state="visible")
        page.click("#submit-visit")
        _wait_synced(page, "submitted")
        assert errors == []
        browser.close()
        connections.close_all()  # queries made inside Playwright's greenlet opened their own connection

    with tenant_scope(visit.body_id):
        visit.refresh_from_db()
        assert visit.state == Visit.State.SUBMITTED
        assert visit.signed_by_name == "Jan Peeters" and visit.signature
        assert visit.checklist_results.count() == len(world.a.insp_items)
        assert visit.checklist_results.get(item=world.a.insp_items[0]).remark == "Manual version 7 seen"
        assert Finding.objects.filter(visit=visit).count() == 1


def test_stale_offline_edit_is_refused_and_the_conflict_shown(live_server, plain_static, world, assigned_visit):
    from playwright.sync_api import sync_playwright

    visit = assigned_visit
    with sync_playwright() as p:
        browser, context, page, _ = _phone(p, live_server, world.a.inspector, f"/inspector/visits/{visit.pk}/")
        page.wait_for_selector("#visit-app")
        page.click("#start-visit")
        _wait_synced(page, "in_progress")

        context.set_offline(True)
        page.fill("textarea[name=general_remarks]", "Written on the phone, offline")
        page.click("#save-checklist")
        page.wait_for_function("document.getElementById('sync-status').dataset.pending === '1'")
        # Meanwhile the visit is changed elsewhere (another device of the inspector, say).
        with tenant_scope(visit.body_id):
            visit.refresh_from_db()
            services.do_record_checklist(visit=visit, results=[], general_remarks="Changed on the tablet")

        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_selector("#conflict", state="visible")
        assert "Changed on the tablet" in page.inner_text("#conflict-theirs")
        assert "Written on the phone, offline" in page.inner_text("#conflict-mine")
        with tenant_scope(visit.body_id):
            visit.refresh_from_db()
            assert visit.general_remarks == "Changed on the tablet"  # not overwritten
        page.click("#conflict-discard")
        _wait_synced(page)
        assert page.locator("#conflict").is_hidden()
        browser.close()
        connections.close_all()  # queries made inside Playwright's greenlet opened their own connection
    with tenant_scope(visit.body_id):
        visit.refresh_from_db()
        assert visit.general_remarks == "Changed on the tablet"


def test_photo_taken_offline_goes_before_the_submission_and_logout_empties_the_phone(
        live_server, plain_static, world, assigned_visit, settings, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.test_inspections_visits import png_bytes

    settings.MEDIA_ROOT = tmp_path
    visit = assigned_visit
    photo = png_bytes(64, 48)
    with sync_playwright() as p:
        browser, context, page, errors = _phone(p, live_server, world.a.inspector, f"/inspector/visits/{visit.pk}/")
        page.wait_for_selector("#visit-app")
        page.wait_for_function("caches.match(location.pathname).then(Boolean)", timeout=15000)
        page.click("#start-visit")
        _wait_synced(page, "in_progress")
        for item in world.a.insp_items:
            page.check(f"input[name=result-{item.pk}][value=compliant]")
        page.click("#save-checklist")
        _wait_synced(page)
        _sign(page, "An Claes")
        _wait_synced(page)

        # --- offline: a photo and the submission wait on the phone ---
        context.set_offline(True)
        page.set_input_files("input[name=photo]", files=[{"name": "kerb-stock.png", "mimeType": "image/png",
                                                          "buffer": photo}])
        page.fill("input[name=caption]", "Kerb stock, bay 3")
        page.click("#add-photo")
        page.wait_for_function("document.getElementById('photo-status').dataset.pendingPhotos === '1'")
        page.click("#submit-visit")
        page.wait_for_function("document.getElementById('sync-status').dataset.pending === '1'")
        with tenant_scope(visit.body_id):
            assert not visit.photos.exists()

        # Logging out now would lose them: the phone asks first, and staying keeps everything.
        dialogs = []
        page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.click("form[data-logout] button")
        for _ in range(100):
            if dialogs:
                break
            page.wait_for_timeout(100)
        assert dialogs and "1 change(s) and 1 photo(s) are not sent yet" in dialogs[0]
        page.wait_for_timeout(300)
        assert page.url.endswith(f"/inspector/visits/{visit.pk}/")
        assert page.evaluate("document.getElementById('photo-status').dataset.pendingPhotos") == "1"

        # --- back online: the photo is sent first, then the visit is submitted ---
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        _wait_synced(page, "submitted")
        page.wait_for_function("document.getElementById('photo-status').dataset.pendingPhotos === '0'")

        # --- logging out leaves nothing of the visit on the phone ---
        assert page.evaluate("caches.keys().then(k => k.length)") > 0
        with page.expect_navigation():
            page.click("form[data-logout] button")
        page.goto(f"{live_server.url}/accounts/login/")
        left = page.evaluate("""async () => ({
            caches: (await caches.keys()).length,
            storage: localStorage.length,
            databases: (await indexedDB.databases()).map(d => d.name),
            workers: (await navigator.serviceWorker.getRegistrations()).length})""")
        assert left == {"caches": 0, "storage": 0, "databases": [], "workers": 0}
        assert errors == []
        browser.close()
        connections.close_all()  # queries made inside Playwright's greenlet opened their own connection

    with tenant_scope(visit.body_id):
        visit.refresh_from_db()
        assert visit.state == Visit.State.SUBMITTED
        saved = visit.photos.get()
        assert saved.complete and saved.caption == "Kerb stock, bay 3" and saved.file.read() == photo
