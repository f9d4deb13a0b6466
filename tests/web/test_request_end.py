"""How a request's transaction ends: a page that only read commits (for the database the same as a rollback,
and psycopg then keeps the statements it prepared); changes a page left unsaved are rolled back, never saved."""
import pytest
from sqlalchemy import event

from trainer.extensions import db
from trainer.models import User


@pytest.fixture
def ends(app):
    """The transaction ends the engine sees, in order: "commit" or "rollback"."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_commit(_conn):
        seen.append("commit")

    def on_rollback(_conn):
        seen.append("rollback")
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    yield seen
    event.remove(engine, "commit", on_commit)
    event.remove(engine, "rollback", on_rollback)


def test_a_page_that_only_read_ends_with_a_commit(logged_in, ends):
    logged_in.get("/home")
    ends.clear()
    assert logged_in.get("/home").status_code == 200
    assert ends == ["commit"]


def test_changes_a_request_left_unsaved_are_rolled_back_not_committed(app, learner, ends):
    with app.test_request_context("/"):
        db.session.get(User, learner[0]).name = "Changed but never saved"
    assert ends == ["rollback"]
    with app.test_request_context("/"):
        db.session.add(User(email="never-saved@example.com", name="Never", role="learner", password_hash="x"))
    with app.app_context():
        assert db.session.get(User, learner[0]).name != "Changed but never saved"
        assert db.session.query(User).filter_by(email="never-saved@example.com").count() == 0


def test_a_request_that_failed_is_rolled_back(app, learner, ends):
    with pytest.raises(RuntimeError):
        with app.test_request_context("/"):
            db.session.get(User, learner[0])
            raise RuntimeError("the page failed")
    assert ends == ["rollback"]


def test_statements_stay_prepared_from_one_request_to_the_next_on_postgresql(app, logged_in):
    """psycopg prepares a statement run five times on a connection and forgets all of them at a ROLLBACK: the
    pages that only read end with a commit, so PostgreSQL stops planning the same statements again."""
    with app.app_context():
        if db.engine.dialect.driver != "psycopg":
            pytest.skip("prepared statements are psycopg's (PostgreSQL)")
        engine = db.engine
    held: list[int] = []

    def on_checkin(dbapi_connection, _record):
        if dbapi_connection is not None:
            held.append(len(dbapi_connection._prepared._names))  # psycopg's own cache of prepared statements
    event.listen(engine, "checkin", on_checkin)
    try:
        for _ in range(8):
            assert logged_in.get("/study/review").status_code == 200
    finally:
        event.remove(engine, "checkin", on_checkin)
    assert held and held[-1] >= 1
