"""The three front ends driven in Chromium as a person would use them (Playwright, system Chromium).

On failure each test leaves a screenshot in $TMPDIR/commerce-assistant-browser/ and says so.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from live_server import serving
from playwright.sync_api import Browser, Page, sync_playwright

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from ui.api import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(tempfile.gettempdir()) / "commerce-assistant-browser"
REVIEWER_TOKEN = "browser-reviewer"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("Chromium not installed (apt-get install chromium)")
    runtime = Runtime(
        Settings(data_dir=tmp_path_factory.mktemp("browser") / "data", llm="none", reviewer_tokens=[REVIEWER_TOKEN])
    )
    ensure_sample_store(runtime, progress=False)
    with serving(create_app(runtime, gradio=True)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def page_for(browser: Browser, name: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    except BaseException:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
        raise
    finally:
        context.close()


def test_gradio_chat_round_trip_with_product_card(base_url: str, browser: Browser) -> None:
    with page_for(browser, "gradio") as page:
        page.goto(base_url + "/")
        box = page.locator("#chat-input textarea")
        box.fill("wireless headphones under $200")
        box.press("Enter")
        card = page.locator(".product-card").first
        card.wait_for()
        assert "$" in card.locator(".price").inner_text()
        assert page.locator("#chatbot").get_by_text("headphones", exact=False).count() > 0
        # A card button sends an event, and the live profile shows it.
        page.locator(".card-cart").first.click()
        page.locator("#profile-panel").get_by_text("added to cart", exact=False).first.wait_for()
        # Thumbs up on the reply is stored as a rating of its top product.
        page.locator("#chatbot").get_by_role("button", name="Like", exact=True).first.click()
        page.locator("#event-note").get_by_text("👍", exact=False).wait_for()
        page.locator("#profile-panel").get_by_text("rated", exact=False).first.wait_for()


def test_widget_on_demo_page_streams_and_keeps_the_conversation(base_url: str, browser: Browser) -> None:
    with page_for(browser, "widget") as page:
        page.goto(base_url + "/widget/demo?user=widget-shopper")
        streamed = []
        page.on(
            "response",
            lambda r: streamed.append(r.headers.get("content-type", "")) if r.url.endswith("/v1/chat/stream") else None,
        )
        page.get_by_role("button", name="Open shopping assistant").click()
        box = page.get_by_label("Your message")
        assert box.evaluate("el => el === el.getRootNode().activeElement")  # focus moved into the panel
        box.fill("coffee makers under $100")
        box.press("Enter")
        card = page.locator("commerce-assistant-widget .card").first
        card.wait_for()
        assert streamed and streamed[0].startswith("text/event-stream")
        assert "$" in card.locator(".price").inner_text()
        # The host page's aggressive `button {...}` rule does not reach the widget's buttons.
        colour = page.locator("commerce-assistant-widget .send").evaluate("el => getComputedStyle(el).color")
        assert colour == "rgb(255, 255, 255)"
        page.keyboard.press("Escape")
        assert page.get_by_role("button", name="Open shopping assistant").get_attribute("aria-expanded") == "false"
        page.reload()
        page.get_by_role("button", name="Open shopping assistant").click()
        assert page.locator("commerce-assistant-widget .msg.user").first.inner_text() == "coffee makers under $100"


def test_review_console_login_approve_and_item_leaves_pending(base_url: str, browser: Browser) -> None:
    queued = httpx.post(base_url + "/v1/moderate", json={"text": "you are a pathetic idiot"}).json()
    review_id = str(queued["review_id"])
    with page_for(browser, "review") as page:
        page.goto(base_url + "/review")
        page.get_by_label("Reviewer token").fill("wrong-token")
        page.get_by_role("button", name="Sign in").click()
        page.locator("#login-error").get_by_text("valid reviewer token", exact=False).wait_for()
        page.get_by_label("Reviewer token").fill(REVIEWER_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        row = page.locator(f'#rows tr[data-id="{review_id}"]')
        row.click()
        page.locator("#d-content").get_by_text("pathetic", exact=False).wait_for()
        page.get_by_label("Note").fill("false alarm: quoting a review")
        page.locator("#note").press("Escape")
        page.keyboard.press("a")  # the keyboard shortcut for approve
        row.wait_for(state="detached")
        page.locator("#f-status").select_option("approved")
        page.locator(f'#rows tr[data-id="{review_id}"]').wait_for()
    item = httpx.get(
        base_url + f"/v1/review/items/{review_id}", headers={"Authorization": f"Bearer {REVIEWER_TOKEN}"}
    ).json()
    assert item["status"] == "approved" and item["note"] == "false alarm: quoting a review"


def test_review_console_shows_the_turns_before_a_flagged_chat_message(base_url: str, browser: Browser) -> None:
    first = httpx.post(base_url + "/v1/chat", json={"message": "do you sell trail running shoes?"}, timeout=60).json()
    flagged = {"session_id": first["session_id"], "message": "you useless idiot, answer properly"}
    review_id = httpx.post(base_url + "/v1/chat", json=flagged, timeout=60).json()["moderation"]["review_id"]
    with page_for(browser, "review-context") as page:
        page.goto(base_url + "/review")
        page.get_by_label("Reviewer token").fill(REVIEWER_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.locator(f'#rows tr[data-id="{review_id}"]').click()
        context = page.locator("#d-context")
        context.get_by_text("trail running shoes", exact=False).first.wait_for()
        assert context.locator("b").first.inner_text().startswith("user")
        assert "No earlier turns" not in context.inner_text()


def csp_violations(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_pages_load_under_their_content_security_policy(base_url: str, browser: Browser) -> None:
    with page_for(browser, "csp") as page:
        violations = csp_violations(page)
        for path, ready in (("/", "#chat-input textarea"), ("/review", "input"), ("/widget/demo", "button")):
            response = page.goto(base_url + path)
            assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
            page.locator(ready).first.wait_for()
        assert violations == []


def test_gradio_chat_works_with_keys_and_its_api_description_closed(
    tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> None:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("browser-keyed") / "data", llm="none", api_keys=["pk"], secret_keys=["sk"]
    )
    with serving(create_app(Runtime(settings), gradio=True)) as url, page_for(browser, "gradio-keyed") as page:
        assert httpx.get(url + "/gradio_api/info").status_code == 401
        violations = csp_violations(page)
        page.goto(url + "/")
        box = page.locator("#chat-input textarea")
        box.fill("hello")
        box.press("Enter")
        page.locator("#chatbot").get_by_text("hello").first.wait_for()
        page.locator("#chatbot [data-testid='bot']").first.wait_for()
        assert violations == []
