"""School question banks: versions that keep answers honest, copies, retiring, the filtered list."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from trainer.content.bank import content_hash
from trainer.extensions import db
from trainer.models import Attempt, AttemptItem, Question, QuestionVersion, ReviewLog
from trainer.services import accounts, authoring

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def setting(ctx):
    """Two schools, an instructor in the first, a learner, and the shipped b-single question."""
    s = accounts.create_school("S")
    t = accounts.create_school("T")
    author = accounts.create_invited_user(f"i-{uuid.uuid4().hex[:6]}@example.com", "Ines", "instructor", s.id)
    learner = accounts.create_invited_user(f"l-{uuid.uuid4().hex[:6]}@example.com", "Lee", "learner")
    shipped = db.session.scalar(select(Question).where(Question.slug == "b-single"))
    db.session.flush()
    return s.id, t.id, author.id, learner.id, shipped


def data_of(question: Question, **changes) -> dict:
    return {**question.current_version.data, **changes}


def review(learner_id: int, question: Question) -> None:
    db.session.add(ReviewLog(learner_id=learner_id, question_id=question.id,
                             question_version_id=question.current_version_id, token=uuid.uuid4().hex,
                             reviewed_at=NOW, rating=3, correct=True, score=1.0, response="a", state_before=0,
                             kind="practice"))
    db.session.flush()


def test_create_gives_a_school_draft_with_version_1_and_its_index(setting):
    s, _, author, _, shipped = setting
    saved = authoring.create_question(s, author, data_of(shipped, tags=["Pain", "Nociception"]), now=NOW)
    q = saved.question
    assert (q.school_id, q.status, q.author_id, q.current_version_id) == (s, "draft", author, saved.version.id)
    assert saved.version.number == 1 and saved.version.author_id == author
    assert saved.version.data["id"] == q.slug and q.slug.startswith(f"s{s}-")
    assert saved.version.content_hash == content_hash(saved.version.data)
    assert q.tags == ["nociception", "pain"] and "What is nociception?" in q.search_text
    assert q.updated_at == NOW


def test_unanswered_version_is_updated_in_place(setting):
    s, _, author, _, shipped = setting
    q = authoring.create_question(s, author, data_of(shipped), publish=True, now=NOW).question
    later = NOW + timedelta(hours=1)
    saved = authoring.update_question(q, data_of(q, stem="New stem"), author, now=later)
    assert not saved.new_version and saved.version.number == 1 and q.updated_at == later
    assert saved.version.data["stem"] == "New stem" and saved.version.content_hash == content_hash(saved.version.data)
    assert q.search_text.startswith("New stem")


@pytest.mark.parametrize("answered_by", ["review", "attempt"])
def test_answered_version_stays_and_a_new_one_becomes_current(setting, answered_by):
    s, _, author, learner, shipped = setting
    q = authoring.create_question(s, author, data_of(shipped), publish=True, now=NOW).question
    first = q.current_version
    if answered_by == "review":
        review(learner, q)
    else:
        attempt = Attempt(learner_id=learner, kind="quiz", started_at=NOW)
        db.session.add(attempt)
        db.session.flush()
        db.session.add(AttemptItem(attempt_id=attempt.id, position=0, question_id=q.id,
                                   question_version_id=first.id, exam_area="AP"))
        db.session.flush()
    editor = accounts.create_invited_user("editor@example.com", "Ed", "school_admin", s).id
    saved = authoring.update_question(q, data_of(q, stem="Rewritten"), editor, now=NOW + timedelta(days=1))
    assert saved.new_version and saved.version.number == 2 and saved.version.author_id == editor
    assert q.current_version_id == saved.version.id and first.data["stem"] == "What is nociception?"
    assert [v.number for v, _ in authoring.versions(q.id)] == [2, 1]
    assert [name for _, name in authoring.versions(q.id)] == ["Ed", "Ines"]


def test_saving_the_same_content_changes_nothing_and_going_back_reuses_the_old_version(setting):
    s, _, author, learner, shipped = setting
    q = authoring.create_question(s, author, data_of(shipped), publish=True, now=NOW).question
    first_id = q.current_version_id
    assert not authoring.update_question(q, data_of(q), author).changed
    review(learner, q)
    authoring.update_question(q, data_of(q, stem="Changed"), author)
    review(learner, q)
    saved = authoring.update_question(q, data_of(q, stem="What is nociception?"), author)
    assert saved.version.id == first_id and q.current_version_id == first_id
    assert db.session.scalar(select(db.func.count(QuestionVersion.id)).where(QuestionVersion.question_id == q.id)) == 2


def test_the_shipped_bank_is_read_only_and_copies_are_school_drafts(setting):
    s, t, author, _, shipped = setting
    with pytest.raises(authoring.AuthoringError):
        authoring.update_question(shipped, data_of(shipped, stem="x"), author)
    with pytest.raises(authoring.AuthoringError):
        authoring.retire_question(shipped)
    copy = authoring.copy_question(shipped, s, author, now=NOW).question
    assert (copy.school_id, copy.copied_from_id, copy.status, copy.author_id) == (s, shipped.id, "draft", author)
    assert copy.slug != shipped.slug and shipped.current_version.data["id"] == "b-single"
    with pytest.raises(authoring.AuthoringError):
        authoring.copy_question(copy, t, author)


def test_visibility_by_school(setting):
    s, t, author, _, shipped = setting
    mine = authoring.create_question(s, author, data_of(shipped)).question
    assert authoring.visible_question(mine.id, s) is mine
    assert authoring.visible_question(mine.id, t) is None
    assert authoring.visible_question(mine.id, None, see_all=True) is mine
    assert authoring.visible_question(shipped.id, t) is shipped
    assert authoring.school_question(shipped.id, s) is None and authoring.school_question(mine.id, t) is None


def test_quiz_pool_has_published_live_questions_of_the_school_and_the_shipped_bank(setting):
    s, t, author, _, shipped = setting
    draft = authoring.create_question(s, author, data_of(shipped)).question
    live = authoring.create_question(s, author, data_of(shipped), publish=True).question
    retired = authoring.create_question(s, author, data_of(shipped), publish=True).question
    authoring.retire_question(retired)
    other = authoring.create_question(t, author, data_of(shipped), publish=True).question
    pool = set(db.session.scalars(select(Question.id).where(authoring.quiz_pool(s))))
    assert live.id in pool and shipped.id in pool
    assert not pool & {draft.id, retired.id, other.id}
    authoring.restore_question(retired)
    assert retired.id in set(db.session.scalars(select(Question.id).where(authoring.quiz_pool(s))))


def test_list_filters_search_and_pages(setting):
    s, t, author, _, shipped = setting
    a = authoring.create_question(s, author, data_of(shipped, stem="Where is the 100% PIRIFORMIS?",
                                                     tags=["hip_pain"]), publish=True).question
    b = authoring.create_question(s, author, data_of(shipped, stem="Another", tags=["hipxpain"])).question
    authoring.create_question(t, author, data_of(shipped, stem="Piriformis elsewhere"))

    def ids(page=1, flagged_ids=None, **kw):
        return [q.id for q in authoring.list_questions(s, authoring.BankFilters(**kw), page,
                                                       flagged_ids=flagged_ids).items]

    assert ids(text="piriformis", source="school") == [a.id]
    assert ids(text="100%") == [a.id] and ids(text="0_%") == []
    assert ids(tag="hip_pain") == [a.id]
    assert ids(status="draft") == [b.id] and a.id in ids(status="published")
    assert set(ids(source="school")) == {a.id, b.id} and shipped.id in ids(source="shipped")
    assert ids(author_id=author, source="school", type="single", module="basics", area="AP") == [b.id, a.id] \
        or set(ids(author_id=author, source="school")) == {a.id, b.id}
    assert ids(flagged=True, flagged_ids={b.id}) == [b.id] and ids(flagged=True, flagged_ids=set()) == []
    authoring.retire_question(a)
    assert a.id not in ids() and ids(status="retired") == [a.id]
    page = authoring.list_questions(s, authoring.BankFilters(), 99, per_page=5)
    assert page.page == page.pages and page.total > 5 and page.last == page.total
    facets = authoring.bank_facets(s)
    assert "hip_pain" in facets["tags"] and facets["authors"] == [(author, "Ines")]
