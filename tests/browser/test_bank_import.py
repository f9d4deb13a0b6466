"""An instructor on a phone imports a GIFT file with a broken item: sees the error and its line, imports the rest."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.test_flows import login
from tests.conftest import make_app
from tests.web.conftest import build_world
from trainer.extensions import db
from trainer.models import Question

pytestmark = pytest.mark.browser

GIFT = b"""// two good questions and one without a correct answer
::Glide::Which stroke glides? {=Effleurage ~Petrissage ~Tapotement ####Effleurage is the gliding stroke.}

::No key::Which stroke taps?
{
\t~Effleurage
\t~Petrissage
}

::Knead::Which stroke kneads? {=Petrissage ~Effleurage ~Friction}
"""


@pytest.fixture
def app(tmp_path):
    app, drop = make_app(served=True, TRAINER_IMPORT_DIR=str(tmp_path / "imports"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_instructor_imports_only_the_valid_questions(app, live_server, page):
    world = build_world(app)
    login(page, live_server, world.emails["instructor_x"])
    page.goto(live_server + "/bank/import")
    page.get_by_label("Question file").set_input_files(files=[{
        "name": "strokes.gift.txt", "mimeType": "text/plain", "buffer": GIFT}])
    page.get_by_label("Lesson section").select_option("basics-nociception#nociception")
    page.get_by_label("Exam area").select_option("BEN")
    page.get_by_role("button", name="Upload and check").click()

    expect(page.get_by_role("heading", name="Check the import")).to_be_visible()
    broken = page.locator("tr[data-status=invalid]")
    expect(broken).to_have_count(1)
    expect(broken).to_contain_text("strokes.gift.txt:4: no correct answer")
    expect(page.locator("tr[data-status=valid]")).to_have_count(2)

    page.get_by_label("Import only the valid ones").check()
    page.get_by_label("Published: ready for quizzes").check()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="2 questions imported")).to_be_visible()
    expect(page.get_by_role("link", name="Glide")).to_be_visible()
    with app.app_context():
        rows = db.session.scalars(select(Question).where(Question.school_id == world.school_s)).all()
        assert sorted((q.current_version.data["title"], q.exam_area, q.status) for q in rows) == [
            ("Glide", "BEN", "published"), ("Knead", "BEN", "draft")]  # Knead has no explanation
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.js_errors == []
