"""Adding the integration and using a right in Home Assistant's real frontend.

What the flow tests check over the HTTP API, seen here as a user sees it: in
headless Chromium, at a phone's and a desktop's size, in English and German.
Screenshots are saved as test artefacts (tests/e2e/browser.py says where).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import re
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect
import pytest

from custom_components.printernizer_usage.const import DOMAIN
from tests.simulator.collection import CollectionSimulator
from tests.simulator.printernizer import PrinternizerSimulator

from .browser import (
    DESKTOP,
    PHONE,
    chromium,
    cut_off,
    fully_in_view,
    screenshot,
    signed_in_page,
)
from .home_assistant import INTEGRATION, HomeAssistantProcess

# The export's link is named after the file it saves.
EXPORT_FILE = re.compile(r"^printernizer-usage-\d{4}-\d{2}-\d{2}\.json$")


def translations(language: str) -> dict[str, Any]:
    """Return the integration's strings in a language, as the frontend gets them."""
    path = INTEGRATION / "translations" / f"{language}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def flow_dialog(page: Page) -> Locator:
    """Return the dialog a config or options flow is shown in."""
    return page.locator("dialog-data-entry-flow")


def submit(dialog: Locator) -> None:
    """Press the step's submit button (its label is the frontend's own)."""
    dialog.locator("step-flow-form .buttons mwc-button").click()


def start_adding(
    page: Page, ha: HomeAssistantProcess, printernizer_url: str, title: str
) -> Locator:
    """Open "add integration" for ours, confirm it, and give Printernizer's address.

    The address is typed once the first step (its `title`) is shown with its
    default filled in: typed earlier, that default could replace it.
    """
    page.goto(f"{ha.url}/config/integrations/dashboard/add?domain={DOMAIN}")
    page.locator("dialog-box").get_by_role("button", name="OK").click()
    dialog = flow_dialog(page)
    expect(dialog.locator("step-flow-form h2")).to_have_text(title)
    address = dialog.get_by_role("textbox")
    expect(address).not_to_have_value("")
    address.fill(printernizer_url)
    expect(address).to_have_value(printernizer_url)
    submit(dialog)
    return dialog


def finish(dialog: Locator) -> None:
    """Close the dialog that says the entry was made."""
    dialog.locator("step-flow-create-entry .buttons mwc-button").click()
    expect(dialog.locator("step-flow-create-entry")).to_have_count(0)


def open_options(page: Page, ha: HomeAssistantProcess) -> Locator:
    """Open the (only) entry's *Configure* menu from the integration's page."""
    page.goto(f"{ha.url}/config/integrations/integration/{DOMAIN}")
    page.get_by_role("button", name="Configure").click()
    return flow_dialog(page)


def exported(ha: HomeAssistantProcess, entry_id: str) -> dict[str, Any]:
    """Return an entry's statistics as the export action gives them."""
    export = dict(ha.call(DOMAIN, "export_statistics", config_entry_id=entry_id))
    export.pop("download_path")
    return export


def assert_the_choice_reads_at_a_glance(
    dialog: Locator, privacy: dict[str, Any]
) -> Locator:
    """Check the whole title, and the unticked choice and its button, unscrolled."""
    title = dialog.locator("step-flow-form h2")
    expect(title).to_have_text(privacy["title"])
    assert not cut_off(title), privacy["title"]
    share = dialog.get_by_role("checkbox", name=privacy["data"]["share_statistics"])
    expect(share).not_to_be_checked()
    assert fully_in_view(share)
    assert fully_in_view(dialog.locator("step-flow-form .buttons mwc-button"))
    return share


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Start Chromium before Home Assistant, so that a skip costs nothing."""
    with chromium() as started:
        yield started


def test_adding_the_integration_and_exporting_in_the_real_frontend(
    browser: Browser,
    home_assistant: HomeAssistantProcess,
    printernizer: PrinternizerSimulator,
    print_farm: PrinternizerSimulator,
    collection: CollectionSimulator,
) -> None:
    """Decline in English, export from the menu; look first, opt in in German."""
    ha = home_assistant
    ha.finish_onboarding()
    assert collection.api_key is not None
    english, german = translations("en"), translations("de")
    page = signed_in_page(browser, ha, locale="en-GB", viewport=PHONE)
    first_step = english["config"]["step"]["user"]["title"]
    dialog = start_adding(page, ha, printernizer.url, first_step)
    privacy = english["config"]["step"]["privacy"]
    assert_the_choice_reads_at_a_glance(dialog, privacy)
    screenshot(page, "privacy-step-en-412x915")
    page.set_viewport_size(DESKTOP)
    assert_the_choice_reads_at_a_glance(dialog, privacy)
    screenshot(page, "privacy-step-en-1280x900")

    submit(dialog)  # declined: the box was left unticked

    finish(dialog)
    (declined,) = ha.entries(DOMAIN)
    assert exported(ha, declined)["consent_history"] == []  # nothing decided

    # A right from the entry's menu: the export ends in a file the browser saves.
    dialog = open_options(page, ha)
    menu = english["options"]["step"]["init"]["menu_options"]
    dialog.get_by_text(menu["export"], exact=True).click()
    link = dialog.get_by_role("link", name=EXPORT_FILE)
    screenshot(page, "export-en-1280x900")
    # A link with a target: the frontend's router would take a plain one for
    # one of its own pages (and show the signature in the address bar).
    with page.expect_download() as download:
        link.click()
    expect(link).to_be_visible()  # the dialog is still there, with the link
    assert "authSig" not in page.url
    assert EXPORT_FILE.match(download.value.suggested_filename)
    saved = json.loads(download.value.path().read_text(encoding="utf-8"))
    # A poll in between may add to the counts; who this is does not change.
    assert saved["installation"] == exported(ha, declined)["installation"]

    # In German, on a phone: look first, then opt in and name the server.
    page = signed_in_page(browser, ha, locale="de-DE", viewport=PHONE)
    first_step = german["config"]["step"]["user"]["title"]
    dialog = start_adding(page, ha, print_farm.url, first_step)
    privacy = german["config"]["step"]["privacy"]
    assert_the_choice_reads_at_a_glance(dialog, privacy)
    screenshot(page, "privacy-step-de-412x915")
    page.set_viewport_size(DESKTOP)
    assert_the_choice_reads_at_a_glance(dialog, privacy)
    page.set_viewport_size(PHONE)
    dialog.get_by_role("checkbox", name=privacy["data"]["show_preview"]).check()
    submit(dialog)
    preview = german["config"]["step"]["what_would_be_sent"]
    expect(dialog.locator("step-flow-form h2")).to_have_text(preview["title"])
    expect(dialog.get_by_text('"schema_version": "1.0"')).to_be_visible()
    # Home Assistant's own language is English: the browser's language rules.
    marker = german["selector"]["preview_marker"]["options"]["not_yet_known"]
    english_marker = english["selector"]["preview_marker"]["options"]
    expect(dialog.get_by_text(marker).first).to_be_visible()
    expect(dialog.get_by_text(english_marker["not_yet_known"])).to_have_count(0)
    screenshot(page, "what-would-be-sent-de-412x915")
    submit(dialog)
    share = assert_the_choice_reads_at_a_glance(dialog, privacy)
    share.check()
    submit(dialog)
    server = german["config"]["step"]["collection_server"]
    expect(dialog.locator("step-flow-form h2")).to_have_text(server["title"])
    dialog.get_by_role("textbox", name=server["data"]["collection_url"]).fill(
        collection.url
    )
    dialog.get_by_role("textbox", name=server["data"]["collection_api_key"]).fill(
        collection.api_key
    )
    screenshot(page, "collection-server-de-412x915")
    submit(dialog)
    finish(dialog)
    (consented,) = set(ha.entries(DOMAIN)) - {declined}
    decisions = exported(ha, consented)["consent_history"]
    assert [d["share_statistics"] for d in decisions] == [True]
