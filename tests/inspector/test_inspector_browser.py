"""The inspector page in a real headless Chromium: what a person sees after their code used the API.

Each test drives the sandbox through its API as an integrator's code would (httpx, its own key),
then looks at ``/_sandbox/inspector/`` the way a person does — it enters the key, clicks, reads —
and asserts on visible text. Screenshots of every view land in ``build/screenshots/``. Skipped, with
the reason, where Debian's ``chromium`` / ``chromium-driver`` or ``selenium`` are absent.
"""

from __future__ import annotations

import secrets
import time

import pytest

from .conftest import Page, Server

pytestmark = pytest.mark.usefixtures("driver")

OPEN_HXZ_DIALER = {"autoDialer": {
    "operatingHours": {"start": "00:00", "end": "23:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
    "excludedStatuses": ["accepted", "dnc", "disqualified", "duplicate", "rejected", "no_contact"]}}
JANE = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Smith", "email": "jane@example.com",
        "phone": "+12125550101",
        "questionnaire": [{"key": "vehicle_year", "question": "What year is your vehicle?", "answer": 2019},
                          {"key": "homeowner", "question": "Do you own your home?", "answer": None}]}


def new_key(label: str) -> str:
    return f"insp-{label}-{secrets.token_hex(4)}"


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def submit_jane(api) -> str:
    return ok(api.post("/api/v1/leads/submit", json=JANE))["leadId"]


# --- the key ---------------------------------------------------------------------------------------

def test_the_key_is_asked_once_kept_in_the_browser_and_never_shown(page_for):
    key = new_key("key")
    page = page_for(key)
    page.open()
    page.driver.execute_script("sessionStorage.clear(); localStorage.clear();")
    page.open()
    page.wait_text("Open your tenant", "open mode")
    assert not page.driver.find_element("css selector", "#nav").is_displayed()
    page.screenshot("00-key")
    page.sign_in()
    page.wait_text("Requests", "Leads", "Webhooks", "Dialer", "Clock", "Scenarios", within="#nav")
    # kept for this tab, not across tabs (the box was not ticked); a reload asks nothing
    assert page.driver.execute_script("return sessionStorage.getItem('leadsail-inspector-key')") == key
    assert page.driver.execute_script("return localStorage.getItem('leadsail-inspector-key')") is None
    page.open("leads")
    page.wait_text("Leads", "newest first")
    assert not page.driver.find_element("css selector", "#key-view").is_displayed()
    # never in the URL, the DOM (text or attributes) or the browser's console
    assert key not in page.driver.current_url
    assert key not in page.driver.page_source
    assert all(key not in entry["message"] for entry in page.driver.get_log("browser"))
    page.click("#forget-key")
    page.wait_text("Open your tenant", "Key forgotten")
    assert page.driver.execute_script("return sessionStorage.getItem('leadsail-inspector-key')") is None


def test_strict_mode_shows_nothing_without_an_issued_key(driver):
    with Server(strict=True, admin_key="insp-admin-key") as strict:
        page = Page(driver, strict, "never-issued-key-1")
        page.open()
        page.driver.execute_script("sessionStorage.clear(); localStorage.clear();")
        page.open("leads")
        page.wait_text("strict mode", "only a key its admin issued")
        page.wait_for("#api-key").send_keys("never-issued-key-1")
        page.click("#key-form button[type=submit]")
        page.wait_text("did not issue this key")
        assert not page.driver.find_element("css selector", "#nav").is_displayed()
        assert not page.driver.find_element("css selector", "#view").is_displayed()
        assert page.driver.find_element("css selector", "#view").get_attribute("childElementCount") == "0"
        issued = strict.api("unused").post("/_sandbox/admin/keys", headers={"X-Admin-Key": "insp-admin-key"},
                                             json={"key": "insp-issued-key-1"})
        assert issued.status_code == 200, issued.text
        Page(driver, strict, "insp-issued-key-1").sign_in()
        page.wait_text("Requests", within="#nav")


# --- requests ------------------------------------------------------------------------------------------

def test_requests_show_the_journal_live_and_every_detail_line_of_a_refusal(page_for, sandbox_server):
    key = new_key("requests")
    api = sandbox_server.api(key)
    ok(api.get("/api/v1/leads?limit=2"))
    page = page_for(key).sign_in()
    page.wait_text("GET", "/api/v1/leads?limit=2", "200", within="#view")
    # live: a request made now shows without a reload
    refused = api.post("/api/v1/leads/submit", json={"campaignId": "HXZ", "email": "not-an-email", "colour": "red"})
    assert refused.status_code == 400
    details = refused.json()["error"]["details"]
    assert len(details) >= 2
    page.wait_text("POST", "/api/v1/leads/submit", "400", within="#view")
    # filters: 4xx only, then a path
    page.driver.find_element("css selector", "#req-status option[value='4']").click()
    text = page.wait_text("1 of", within="#view")
    assert "/api/v1/leads?limit=2" not in text
    page.click_text("/api/v1/leads/submit", "#view button.link")
    shown = page.wait_text(*details, within="#view .sticky")
    assert "VALIDATION_ERROR" in shown and '"colour": "red"' in shown and "Invalid input data" in shown
    page.screenshot("01-requests")
    # the page's own polling stays out of the journal; only the integrator's requests are in it
    paths = [e["path"] for e in ok(api.get("/_sandbox/journal"))["entries"]]
    assert paths == ["/api/v1/leads/submit", "/api/v1/leads"]


# --- leads, a call, the clock ----------------------------------------------------------------------------

def test_a_test_call_plays_out_when_the_clock_is_advanced_from_the_page(page_for, sandbox_server):
    key = new_key("call")
    api = sandbox_server.api(key)
    ok(api.put("/_sandbox/campaigns/HXZ", json=OPEN_HXZ_DIALER))
    lead_id = submit_jane(api)
    page = page_for(key).sign_in()
    page.go("clock")
    page.wait_text("Pending work by kind", "submission.process")
    page.click_text("+1 min")
    page.wait_text("Advanced +1 min", "submission.deliver", within="#view")
    call = ok(api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id, "isTest": True}))
    page.go(f"calls/{call['interactionId']}")
    page.wait_text("Call · in_progress", "Placed", "Ringing", "answers at", "Test call:", "No recording (yet).")
    page.go("clock")
    page.wait_text("call.answer")
    page.click_text("+15 min")
    page.wait_text("Advanced +15 min", "call.end", within="#view")
    page.go(f"calls/{call['interactionId']}")
    text = page.wait_text("Call · completed", "Ended: completed", "Answered",
                          "Hi Jane, this is Ava calling from Auto Insurance Quotes", "Spoke with Jane Smith",
                          "agent ended the call")
    assert "Test call" in text  # the system line, centred
    audio = page.wait_for("audio")
    assert audio.get_attribute("src") == f"{sandbox_server.base_url}/_sandbox/recordings/{call['interactionId']}.wav"
    page.screenshot("04-call")
    # the lead's page: its timeline on the tenant clock, in order
    page.click_text(lead_id, "a")
    text = page.wait_text("Jane Smith", "Submission #1 (standard) received", "evaluated: qualified",
                          "posted to the client: HTTP 200", "Call placed (api)", "Call answered",
                          "Call ended: completed", "POST /api/v1/leads/submit → 200", within="#view")
    order = [text.index(s) for s in ("Submission #1 (standard) received", "evaluated: qualified",
                                     "posted to the client", "Call placed", "Call ended")]
    assert order == sorted(order)
    page.screenshot("03-lead")
    page.go("leads")
    page.wait_text("Jane Smith", "jane@example.com", within="#view")
    page.driver.find_element("css selector", "#lead-search").send_keys("Jane")
    page.click_text("Search")
    page.wait_text("Jane Smith", "page 1", within="#view")
    page.screenshot("02-leads")


# --- SMS ---------------------------------------------------------------------------------------------

def test_texting_back_as_the_lead_shows_the_bubble_the_batch_and_the_agent_reply(page_for, sandbox_server):
    key = new_key("sms")
    api = sandbox_server.api(key)
    lead_id = submit_jane(api)
    sent = ok(api.post("/api/v1/sms/send", json={"leadId": lead_id, "message": "Hi Jane! Thanks for your quote request."}))
    page = page_for(key).sign_in()
    page.go(f"sms/{sent['interactionId']}")
    page.wait_text("Hi Jane! Thanks for your quote request.", "your API", "sent", within=".conversation")
    page.driver.find_element("css selector", "#sms-text").send_keys("Yes, still interested!")
    page.click_text("Send as the lead")
    page.wait_text("Yes, still interested!", "in batch", within=".conversation")
    page.wait_text("Batch window open: 1 text waiting")
    page.screenshot("05-sms-batch")
    assert page.driver.find_element("css selector", "#sms-text").get_attribute("value") == ""
    ok(api.post("/_sandbox/clock/advance", json={"seconds": 60}))
    text = page.wait_text("this is Sam from Auto Insurance Quotes", "SMS agent",
                          "batch of 1 text answered by the SMS agent", "delivered", within=".conversation")
    assert text.index("Yes, still interested!") < text.index("this is Sam")
    page.screenshot("05-sms")
    # the conversation is on the lead's timeline too
    page.go(f"leads/{lead_id}")
    page.wait_text("Text to the lead (api)", "Text from the lead to",
                   "Yes, still interested!", within="#view")


# --- webhooks ------------------------------------------------------------------------------------------

def test_a_failed_webhook_shows_each_attempt_and_is_replayed_from_the_page(page_for, sandbox_server):
    key = new_key("hooks")
    sink = f"insp-503-{secrets.token_hex(3)}"
    api = sandbox_server.api(key)
    ok(api.put("/_sandbox/campaigns/HXZ", json={"webhooks": {
        "enabled": True, "url": f"{sandbox_server.base_url}/_sandbox/sink/{sink}?status=503",
        "events": {"lead.delivered": True}, "headers": {"X-Source": "inspector-test"}, "retryAttempts": 3}}))
    submit_jane(api)
    page = page_for(key).sign_in()
    page.go("clock")
    page.click_text("+15 min")
    page.wait_text("webhook.attempt 4", within="#view")
    page.go("webhooks")
    page.wait_text("lead.delivered", "failed", within="#view")
    page.click_text("lead.delivered", "#view button.link")
    detail = page.wait_text("Attempt 4", "Attempt 1", "HTTP 503", "retry", "initial", "Next retry at",
                            "SINK_FORCED_STATUS", "retries left 0 of 3", within="#view .sticky")
    assert "webhook-id" in page.driver.find_element("css selector", "#view .sticky").get_attribute("textContent")
    assert detail.index("Attempt 4") < detail.index("Attempt 1")  # newest first
    page.click_text("Replay now")
    page.wait_text("Attempt 5", "replay", within="#view .sticky")
    page.screenshot("06-webhooks")
    page.wait_text(f"5 requests received by “{sink}”", within="#view")
    # fault switches
    page.click("#fault-dup")
    page.click_text("Save fault switches")
    page.wait_text("Fault switches saved")
    assert ok(api.get("/_sandbox/webhooks/faults"))["duplicate"] is True


# --- dialer, clock, scenarios ----------------------------------------------------------------------------

def test_dialer_queue_and_dry_run_clock_pending_work_and_scenarios(page_for, sandbox_server):
    key = new_key("dialer")
    api = sandbox_server.api(key)
    ok(api.put("/_sandbox/campaigns/HXZ", json=OPEN_HXZ_DIALER))
    lead_id = submit_jane(api)
    ok(api.post("/_sandbox/clock/advance", json={"seconds": 10}))
    ok(api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))
    ok(api.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": [lead_id]}))
    page = page_for(key).sign_in()
    page.go("dialer")
    page.wait_text("1 pending attempt", lead_id, "1 / 6", within="#view")
    page.click_text("check")
    text = page.wait_text("not now", "becomes allowed at", "minimumGap", "operatingHours", "excludedStatus",
                          "minimum gap is 60 minutes", within="#view .sticky")
    assert text.index("lead") < text.index("minimumGap") < text.index("excludedStatus")
    page.screenshot("07-dialer")
    page.go("clock")
    page.wait_text("Pending work by kind", "dialer.attempt", "call.answer", "Next due jobs", within="#view")
    page.screenshot("08-clock-pending")
    page.click_text("To next due job")
    page.wait_text("Advanced to the next due job", "1 job ran (call.answer 1)", within="#view")
    page.screenshot("08-clock")
    page.go("scenarios")
    page.wait_text("+12125550101", "voicemail", "Calls (the lead's phone)", within="#view")
    page.click("button[aria-label='Copy +12125550103']")
    page.wait_text("Copied +12125550103")
    page.screenshot("09-scenarios")


# --- hostile data --------------------------------------------------------------------------------------------

SCRIPT = "<script>window.__xss=1;alert('xss-script')</script>"
IMG = "\"><img src=x onerror=alert('xss-img')>"
SVG = "'><svg onload=alert('xss-svg')>"


def test_hostile_data_in_every_field_is_shown_as_text_and_never_runs(page_for, sandbox_server, driver):
    """Payloads in every field the page shows; with the page's CSP bypassed, so that only the way the
    DOM is built (text, never markup) stands between them and the browser."""
    key = new_key("xss")
    sink = f"insp-xss-{secrets.token_hex(3)}"
    api = sandbox_server.api(key)
    ok(api.put("/_sandbox/campaigns/HXZ", json={"webhooks": {
        "enabled": True, "url": f"{sandbox_server.base_url}/_sandbox/sink/{sink}",
        "events": {"lead.queued": True, "call.completed": True}, "headers": {"X-Payload": IMG}}}))
    lead_id = ok(api.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": IMG, "lastName": SCRIPT,
                                                  "email": "xss@example.com", "phone": "+12125557001",
                                                  "notes": [{"text": SVG}]}))["leadId"]
    ok(api.patch(f"/api/v1/leads/{lead_id}", json={"firstName": IMG, "lastName": SCRIPT}))
    ok(api.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["email"], "reason": SVG}))
    ok(api.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "completed"}))
    call = ok(api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))
    sent = ok(api.post("/api/v1/sms/send", json={"leadId": lead_id, "message": SCRIPT}))
    ok(api.post("/_sandbox/sms/inbound", json={"from": "+12125557001", "to": "+18335645667", "text": IMG}))
    ok(api.post("/_sandbox/clock/advance", json={"seconds": 900}))
    ok(api.post("/api/v1/leads/submit", json={**JANE, "firstName": SVG, "email": "svg@example.com"}))
    ok(api.post("/_sandbox/clock/advance", json={"seconds": 5}))
    ok(api.post(f"{sandbox_server.base_url}/_sandbox/sink/{sink}", content=IMG.encode(),
                headers={"X-Evil": IMG, "Content-Type": "text/plain"}))
    refused = api.patch("/_sandbox/settings", json={IMG: 1})           # a refusal naming the payload
    assert refused.status_code == 400 and IMG in refused.json()["error"]["details"][0]
    api.get(f"/api/v1/interactions/{SVG}")                              # a path carrying the payload

    driver.execute_cdp_cmd("Page.setBypassCSP", {"enabled": True})
    try:
        page = page_for(key).sign_in()

        def clean(where: str) -> None:
            assert page.dialogs() == [], where
            assert page.injected() == [], where

        page.wait_text("/api/v1/interactions/" + SVG, within="#view")
        page.click_text("/_sandbox/settings", "#view button.link")
        page.wait_text(IMG + ": is not an allowed field", within="#view .sticky")
        clean("requests")
        page.go("leads")
        page.wait_text(IMG + " " + SCRIPT, within="#view")
        clean("leads")
        page.go(f"leads/{lead_id}")
        page.wait_text(IMG + " " + SCRIPT, SVG, "DNC set by sandbox: email", within="#view")
        clean("lead")
        page.screenshot("10-injection-lead")
        page.go(f"calls/{call['interactionId']}")
        page.wait_text(f"Hi {IMG}, this is Ava", f"Spoke with {IMG} {SCRIPT}", within="#view")
        clean("call")
        page.go(f"sms/{sent['interactionId']}")
        page.wait_text(SCRIPT, IMG, within=".conversation")
        clean("sms")
        page.go(f"webhooks?leadId={lead_id}")
        page.wait_text("call.completed", within="#view")
        page.click_text("call.completed", "#view button.link")
        page.wait_text("Attempt 1", within="#view .sticky")
        page.click_text(f"Request: POST {sandbox_server.base_url}/_sandbox/sink/{sink}", "#view .sticky summary")
        page.wait_text("X-Payload", IMG, SCRIPT, within="#view .sticky")  # the header; the summary in the body
        clean("webhook")
        page.go("webhooks")
        page.click_text(sink, "#view button")
        page.wait_text(f"requests received by “{sink}”", within="#view")
        for summary in page.driver.find_elements("css selector", "#view details.attempt > summary"):
            summary.click()
        page.wait_text(IMG, "x-evil", within="#view")
        clean("sinks")
        page.go(f"dialer/{lead_id}")
        page.wait_text("Checks, in the order a call runs them", within="#view")
        clean("dialer")
        page.go("clock")
        page.click_text("+1 min")
        page.wait_text("Advanced +1 min", within="#view")
        clean("clock")
        page.go("scenarios")
        page.wait_text("+12125550101", within="#view")
        clean("scenarios")
        assert not [e for e in page.console_errors() if "xss" in e]
    finally:
        driver.execute_cdp_cmd("Page.setBypassCSP", {"enabled": False})


def test_a_long_tenant_pages_through_the_api(page_for, sandbox_server):
    """The leads view asks for 50 at a time and walks the cursor; it never loads the tenant."""
    key = new_key("paging")
    api = sandbox_server.api(key)
    for n in range(60):
        ok(api.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": f"Pager{n:02d}", "lastName": "Test",
                                            "email": f"pager{n}@example.com", "phone": f"+1212555{7100 + n}"}))
    page = page_for(key).sign_in()
    page.go("leads")
    first = page.wait_text("Pager59 Test", "page 1", within="#view")
    assert "Pager09 Test" not in first
    page.click_text("Older →")
    second = page.wait_text("page 2", "Pager09 Test", within="#view")
    assert "Pager59 Test" not in second
    page.click_text("← Newer")
    page.wait_text("page 1", "Pager59 Test", within="#view")
    entries = ok(api.get("/_sandbox/journal"))["entries"]
    assert {e["method"] for e in entries} == {"POST"}, "the page's reads are not journaled"


# --- accessibility -----------------------------------------------------------------------------------------

UNLABELLED = """
const named = (el) => (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
const fields = [...document.querySelectorAll('input, select, textarea')].filter((el) => el.type !== 'hidden' && !named(el));
const buttons = [...document.querySelectorAll('button, a[href]')].filter((el) => !(el.textContent.trim() || el.getAttribute('aria-label')));
return fields.concat(buttons).map((el) => el.outerHTML.slice(0, 100));
"""


def test_every_view_has_landmarks_labelled_fields_and_works_from_the_keyboard(page_for, sandbox_server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    key = new_key("a11y")
    api = sandbox_server.api(key)
    lead_id = submit_jane(api)
    thread = ok(api.post("/api/v1/sms/send", json={"leadId": lead_id, "message": "Hello"}))["interactionId"]
    page = page_for(key)
    page.open()
    page.driver.execute_script("sessionStorage.clear(); localStorage.clear();")
    page.open()
    page.wait_for("#api-key")
    assert page.driver.execute_script(UNLABELLED) == []
    page.sign_in()
    for view in ("requests", "leads", f"leads/{lead_id}", f"sms/{thread}", "webhooks", f"dialer/{lead_id}", "clock",
                 "scenarios"):
        page.go(view)
        page.wait_for("#view h1")
        time.sleep(0.3)
        assert page.driver.execute_script(UNLABELLED) == [], view
        assert page.driver.execute_script("return !!document.querySelector('header') && !!document.querySelector("
                                          "'nav[aria-label]') && !!document.querySelector('main')"), view
    # keyboard: the skip link comes first; a request row opens with Enter
    page.open("requests")
    page.wait_text("/api/v1/leads/submit", within="#view")
    ActionChains(page.driver).send_keys(Keys.TAB).perform()
    assert page.driver.switch_to.active_element.text == "Skip to content"
    page.driver.find_element("css selector", "#view button.link").send_keys(Keys.ENTER)
    page.wait_text("Request body", "Response body", within="#view .sticky")
