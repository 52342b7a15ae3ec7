"""An officer drafts a new version in a real browser, tightens a limit, publishes it and compares."""


import pytest

from certification.tenancy import scopes_disabled
from marks.models import RegulationVersion
from tests.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def test_draft_edit_publish_compare_in_a_browser(world, live_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    a = world.a
    with scopes_disabled("test"):  # start from a regulation with only a published version
        a.regulation_draft.delete()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", a.officer.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/staff/regulations/")
        page.click("text=TRA 11")
        page.click("text=Draft a new version")
        page.fill("textarea[name=changes_summary]", "Binder upper limit lowered")
        page.click("button:has-text('Create the draft')")
        page.fill("input[name='req-0-upper_limit']", "6.0")
        page.click("button:has-text('Save draft')")
        assert "Draft saved." in page.content()
        page.click("text=← TRA 11 v2")
        page.click("a.button:has-text('Publish')")
        page.fill("input[name=effective_date]", "2027-01-01")
        page.fill("input[name=transition_end]", "2027-06-30")
        page.click("button:has-text('Publish')")
        assert "Version 2 published." in page.content()
        page.click("a.button:has-text('Compare')")
        html = page.content()
        assert "~ binder-content" in html and "upper_limit: 6.2" in html and "upper_limit: 6" in html
        browser.close()
    with scopes_disabled("test"):
        statuses = dict(RegulationVersion._base_manager.filter(regulation=a.regulation).values_list("version", "status"))
    assert statuses == {1: "superseded", 2: "published"}
