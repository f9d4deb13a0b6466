"""An XSS corpus through every author-controlled content field, opened in real Chromium with the CSP
switched off, so the sanitiser alone must stop every payload (the CSP is a second line, tested elsewhere)."""
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from werkzeug.serving import make_server

from tests.conftest import COURSE, FIXTURES, PASSWORD, make_app
from tests.browser.test_flows import login
from trainer.extensions import db

pytestmark = pytest.mark.browser
PAYLOADS = [line for line in (FIXTURES / "xss_payloads.txt").read_text().splitlines() if line.strip()]


def build_course(root: Path) -> None:
    shutil.copytree(COURSE, root)
    lesson = root / "modules" / "01-basics" / "01-nociception.md"
    body = "\n\n".join(f"Payload {i}: {p}" for i, p in enumerate(PAYLOADS))
    lesson.write_text(lesson.read_text().replace("## Piriformis mention {#mention}",
                                                 body + "\n\n## Piriformis mention {#mention}"))
    glossary = yaml.safe_load((root / "modules" / "glossary.yaml").read_text())
    glossary[0]["definition"] += " " + PAYLOADS[0] + " " + PAYLOADS[2]
    (root / "modules" / "glossary.yaml").write_text(yaml.safe_dump(glossary))
    module = root / "modules" / "01-basics" / "module.md"
    module.write_text(module.read_text().replace("summary: A small module used by the test suite.",
                                                 "summary: " + yaml.safe_dump(PAYLOADS[2]).split("\n")[0]))
    questions = [{
        "id": f"xss-{i}", "type": "single", "module": "basics", "lesson": "basics-nociception#nociception",
        "exam_area": "AP", "difficulty": 1, "stem": f"Question {i}: {payload}",
        "options": [{"text": f"Option {i} {payload}", "correct": True, "feedback": f"Feedback {payload}"},
                    {"text": f"Plain {i}"}],
        "explanation": f"Because {payload}"} for i, payload in enumerate(PAYLOADS)]
    (root / "question_bank" / "xss.yaml").write_text(yaml.safe_dump(questions, allow_unicode=True))


@pytest.fixture
def xss_server(tmp_path):
    build_course(tmp_path / "c")
    app, drop = make_app(tmp_path / "c" / "modules", tmp_path / "c" / "question_bank")
    from trainer.services import accounts
    with app.app_context():
        from trainer.content.store import content
        loaded = content()
        assert "xss-0" in loaded.bank.questions and len(loaded.bank.questions) >= len(PAYLOADS)
        user = accounts.create_user("victim@example.com", "Victim", PASSWORD)
        user.new_per_day = 500
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_no_payload_runs_anywhere(xss_server, chromium):
    assert len(PAYLOADS) >= 50
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append((page.url, d.message)), d.dismiss()))
    ran = []

    def check(where):
        page.mouse.move(5, 5)
        if page.evaluate("() => window.__xss !== undefined"):
            ran.append(where)

    login(page, xss_server, "victim@example.com")
    for url in ("/course", "/modules/basics", "/lessons/basics-nociception", "/search?q=payload"):
        page.goto(xss_server + url)
        check(url)
    page.goto(xss_server + "/lessons/basics-nociception")
    page.get_by_role("button", name="Mark complete").click()
    seen = 0
    for _ in range(len(PAYLOADS) + 20):
        page.goto(xss_server + "/study/review/next")
        if page.get_by_role("heading", name="Done for now").count():
            break
        check("question " + page.url)
        if page.locator("input[name=choice]").count():
            page.locator("input[name=choice]").first.check()
        elif page.locator("input[name=text]").count():
            page.locator("input[name=text]").fill("x")
        page.locator("#submit-answer").click()
        check("feedback " + page.url)
        seen += 1
    assert seen >= len(PAYLOADS)
    page.goto(xss_server + "/study/dashboard")
    check("dashboard")
    context.close()
    assert dialogs == [] and ran == []
