"""Scenarios in a real browser: sign-off from the inbox while the coordinator's open page follows, the
Bulgarian inbox, and user text that tries to be markup shown as text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from playwright.async_api import Browser, expect

from api.web.rendering import visible_controls
from tests.identities import PASSWORD
from tests.web.conftest import WebApi, screenshot, signed_in
from tests.workflows.scenario import ASSESSMENT


def _later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def operation_in_prepare(web_api: WebApi, code_name: str | None = None, target_name: str | None = None,
                               justification: str = "web scenario") -> str:
    tag = uuid.uuid4().hex[:8]
    operation_id = f"op-web-{tag}"
    body: dict[str, Any] = {"operation_id": operation_id, "justification": justification, "spec": {
        "code_name": code_name or f"WEB-{tag}", "lead_state": "BG", "participating_states": ["EL"],
        "crime_areas": ["migrant_smuggling"], "handling_code": "H1", "networks": [{"name": "Net"}],
        "targets": [{"name": target_name or f"Target {uuid.uuid4().hex[:8]}", "date_of_birth": "1980-01-01",
                     "network": "Net"}]}}
    opened = await web_api.post("coord-1", "/operations", body, 201)
    assert opened["status"] == "opened"
    await web_api.post("coord-1", f"/operations/{operation_id}/submit-for-prioritisation",
                       {"assessment": ASSESSMENT.model_dump()})
    decided = await web_api.post("coord-1", f"/operations/{operation_id}/decide-priority", {})
    assert decided["phase"] == "prepare"
    return operation_id


async def plan_task(web_api: WebApi, operation_id: str, description: str, kind: str = "victim_support",
                    state: str = "BG") -> None:
    await web_api.post("coord-1", f"/operations/{operation_id}/plan-task", {
        "member_state": state, "task_kind": kind, "description": description, "due": _later(48)})


async def test_an_approver_signs_off_and_the_coordinators_open_page_follows(
        browser: Browser, server: str, web_api: WebApi) -> None:
    operation_id = await operation_in_prepare(web_api)
    await plan_task(web_api, operation_id, "shelter for the victims")
    coordinator = await signed_in(browser, server, "coord-1")
    await coordinator.goto(f"/web/operations/{operation_id}")
    status = coordinator.locator("tr[data-task='TK1'] .task-status")
    await expect(status).to_have_text("Pending")

    approver = await signed_in(browser, server, "ap-bg-1")
    row = approver.locator(f"tr[data-task='{operation_id}/TK1']")
    await expect(row).to_contain_text("shelter for the victims")
    await row.get_by_label("Reason").fill("the shelter is ready")
    await row.get_by_role("button", name="Approve").click()
    await expect(approver.locator(f"li[data-task='{operation_id}/TK1']")).to_contain_text("done")
    await expect(approver.locator(f"tr[data-task='{operation_id}/TK1']")).to_have_count(0)
    await screenshot(approver, "inbox-after-approval")

    # No reload: the coordinator's page polls the version and swaps its content in.
    await expect(status).to_contain_text("Approved", timeout=10_000)
    await expect(coordinator.locator("ol.timeline")).to_contain_text("the shelter is ready")
    assert await coordinator.evaluate("performance.getEntriesByType('navigation').length") == 1
    await screenshot(coordinator, "operation-page-followed")


def code_at(secret: str, drift_steps: int) -> str:
    """A one-time code of the step `drift_steps` from now; each use must take a later step than the last."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * drift_steps))


async def test_a_coercive_task_is_approved_with_a_one_time_code(browser: Browser, server: str,
                                                                  web_api: WebApi) -> None:
    async with await web_api.as_("ap-bg-otp") as http:
        secret = (await http.post("/me/one-time-code", json={"password": PASSWORD})).json()["secret"]
        confirmed = await http.post("/me/one-time-code/confirm", json={"code": code_at(secret, -1)})
        assert confirmed.status_code == 200, confirmed.text
    operation_id = await operation_in_prepare(web_api)
    await plan_task(web_api, operation_id, "arrest at the border crossing", kind="arrest")
    approver = await signed_in(browser, server, "ap-bg-otp", one_time_code=code_at(secret, 0))
    row = approver.locator(f"tr[data-task='{operation_id}/TK1']")
    await row.get_by_label("Reason").fill("warrant issued")
    await row.get_by_role("button", name="Approve").click()  # without the code: refused, said on the page
    result = approver.locator(f"li[data-task='{operation_id}/TK1']")
    await expect(result).to_contain_text("refused")
    await expect(result).to_contain_text("one-time code")
    row = approver.locator(f"tr[data-task='{operation_id}/TK1']")
    await row.get_by_label("Reason").fill("warrant issued")
    await row.get_by_label("One-time code").fill(code_at(secret, 1))
    await row.get_by_role("button", name="Approve").click()
    await expect(result).to_contain_text("done")
    await screenshot(approver, "inbox-step-up")
    async with await web_api.as_("coord-1") as http:
        timeline = (await http.get(f"/operations/{operation_id}/timeline")).json()
    assert any("step-up" in entry["summary"] for entry in timeline), timeline


async def test_bulk_approval_gives_a_result_per_task(browser: Browser, server: str, web_api: WebApi) -> None:
    operation_id = await operation_in_prepare(web_api)
    await plan_task(web_api, operation_id, "first")
    await plan_task(web_api, operation_id, "second")
    await plan_task(web_api, operation_id, "an arrest", kind="arrest")
    approver = await signed_in(browser, server, "ap-bg-2")
    for task in ("TK1", "TK2", "TK3"):
        await approver.locator(f"input[name=selected][value='{operation_id}/{task}']").check()
    await approver.locator("#bulk-reason").fill("all in order")
    await approver.get_by_role("button", name="Approve selected").click()
    for task in ("TK1", "TK2", "TK3"):
        await expect(approver.locator(f"li[data-task='{operation_id}/{task}']")).to_contain_text("done")
    await screenshot(approver, "inbox-bulk-approval")


async def test_the_bulgarian_inbox(browser: Browser, server: str, web_api: WebApi) -> None:
    operation_id = await operation_in_prepare(web_api)
    await plan_task(web_api, operation_id, "претърсване на склада", kind="search")
    approver = await signed_in(browser, server, "ap-bg-1", locale="bg-BG")
    await expect(approver.locator("html")).to_have_attribute("lang", "bg")
    await expect(approver.locator("h1")).to_have_text("Задачи, чакащи одобрение")
    row = approver.locator(f"tr[data-task='{operation_id}/TK1']")
    await expect(row).to_contain_text("Претърсване")  # the task kind, a domain code, translated
    await expect(row).to_contain_text("претърсване на склада")  # user data, as written
    await expect(row.get_by_label("Еднократен код")).to_be_visible()  # a coercive task asks for a code
    await screenshot(approver, "inbox-bulgarian")
    # The switch is remembered over the browser's language.
    await approver.get_by_role("link", name="EN").click()
    await expect(approver.locator("h1")).to_have_text("Tasks awaiting sign-off")
    await approver.reload()
    await expect(approver.locator("h1")).to_have_text("Tasks awaiting sign-off")


CORPUS = ["<b>bold</b> & <i>", "<script>window.__pwned = 1</script>", "\"' onmouseover=\"window.__pwned=2",
          "[bold]rich[/bold] [/] [link=https://example.org]x[/link]", "abc\u202egnp.exe",
          "<img src=x onerror=alert(1)>"]


async def test_user_text_is_shown_as_text(browser: Browser, server: str, web_api: WebApi) -> None:
    hostile = " | ".join(CORPUS)
    code_name = f"<b>ESC</b> \"' x=\"[/]\u202e{uuid.uuid4().hex[:6]}"  # code names are short (80)
    operation_id = await operation_in_prepare(web_api, code_name=code_name,
                                              target_name=f"Name {hostile}", justification=f"opened {hostile}")
    await plan_task(web_api, operation_id, f"task {hostile}")
    approver = await signed_in(browser, server, "ap-bg-1")
    coordinator = await signed_in(browser, server, "coord-1")
    # Each page with the user text it shows: code name, task description, target name, justification.
    pages = [(approver, "/web/inbox", "inbox", [code_name, f"task {hostile}"]),
             (coordinator, f"/web/operations/{operation_id}", "operation",
              [code_name, f"task {hostile}", f"Name {hostile}", f"opened {hostile}"]),
             (coordinator, "/web/operations?q=ESC", "board", [code_name])]
    for page, path, name, shown in pages:
        await page.goto(path)
        text = await page.locator("main").inner_text()
        for sample in shown:
            assert visible_controls(sample) in text, (name, sample)
        assert "\u202e" not in text and "\u27e6U+202E\u27e7" in text, name  # the override is shown, not obeyed
        assert await page.evaluate("window.__pwned === undefined"), name
        assert await page.locator("main script, main img, main b, main i").count() == 0, name
        await screenshot(page, f"escaping-{name}")


async def test_a_liaison_officer_resolves_a_hit_from_the_operation_page(browser: Browser, server: str,
                                                                        web_api: WebApi) -> None:
    phone = f"+359 88{uuid.uuid4().int % 10**7:07d}"
    ours = await operation_in_prepare(web_api)
    await web_api.post("coord-1", f"/operations/{ours}/add-target", {"target": {
        "name": "Petrov Ivan", "date_of_birth": "1985-03-07", "contributed_by": "BG",
        "identifiers": [{"kind": "phone", "value": phone}]}})
    theirs = f"op-web-other-{uuid.uuid4().hex[:8]}"
    await web_api.post("coord-1", "/operations", {"operation_id": theirs, "justification": "colliding", "spec": {
        "code_name": "RHEIN", "lead_state": "DE", "participating_states": ["AT"], "crime_areas": ["migrant_smuggling"],
        "point_of_contact": "LKA desk", "targets": [{"name": "Someone Else", "contributed_by": "DE",
                                                    "identifiers": [{"kind": "phone", "value": phone}]}]}}, 201)
    officer = await signed_in(browser, server, "lo-bg")
    await officer.goto(f"/web/operations/{ours}")
    hit_form = officer.locator("form[action$='/resolve']").first
    await expect(hit_form).to_be_visible()
    await hit_form.get_by_label("Resolution").select_option("coordinated")
    await hit_form.get_by_label("Justification").fill("agreed with the LKA desk by phone")
    await hit_form.get_by_role("button", name="Resolve").click()
    await expect(officer.locator("main")).to_contain_text("hit_resolved")
    await expect(officer.locator("form[action$='/resolve']")).to_have_count(0)
    await expect(officer.locator("ol.timeline")).to_contain_text("agreed with the LKA desk by phone")
    await screenshot(officer, "operation-hit-resolved")


async def test_an_auditor_replays_to_a_point_and_verifies(browser: Browser, server: str, web_api: WebApi) -> None:
    operation_id = await operation_in_prepare(web_api)
    auditor = await signed_in(browser, server, "aud-1")
    await auditor.get_by_role("link", name="Auditor's desk").click()
    await auditor.get_by_label("Operation").fill(operation_id)
    await auditor.get_by_label("To sequence number").fill("1")
    await auditor.get_by_role("button", name="Replay").click()
    await expect(auditor.locator("#replayed h2")).to_contain_text("1")
    await expect(auditor.locator("#replayed-phase")).to_have_text("Identify")  # as of its opening
    await auditor.get_by_role("button", name=f"Verify {operation_id}").click()
    await expect(auditor.locator("#verified")).to_contain_text(f"{operation_id}: intact")
    await screenshot(auditor, "auditor-desk")
