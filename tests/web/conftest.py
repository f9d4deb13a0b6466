"""A school world for the school and cohort pages: two schools, three cohorts, staff of every kind."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from werkzeug.security import generate_password_hash

from tests.conftest import PASSWORD
from trainer.extensions import db
from trainer.services import accounts

# Two PBKDF2 rounds instead of scrypt: these worlds are built hundreds of times per run. (One round is the
# mark of an invited account's random password, whose login check is padded to a full one.)
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:2")


@dataclass
class World:
    """School S has cohorts X and Y, school T has cohort Z; ids and e-mails of everyone involved."""

    school_s: int
    school_t: int
    cohort_x: int
    cohort_y: int
    cohort_z: int
    learner_x: int
    learner_z: int
    instructor_x: int
    instructor_y: int
    instructor_z: int
    emails: dict[str, str]
    ids: dict[str, int]


def build_world(app) -> World:
    """Create a fresh, self-contained world (unique names, so many can live in one database)."""
    tag = uuid.uuid4().hex[:8]
    emails, ids = {}, {}
    with app.app_context():
        s = accounts.create_school(f"School S {tag}")
        t = accounts.create_school(f"School T {tag}")
        x = accounts.create_cohort(s.id, "Cohort X")
        y = accounts.create_cohort(s.id, "Cohort Y")
        z = accounts.create_cohort(t.id, "Cohort Z")

        def user(key: str, role: str, school=None, name=None):
            u = accounts.create_invited_user(f"{key}-{tag}@example.com", name or key.replace("_", " ").title(),
                                             role, school)
            u.password_hash = FAST_HASH
            emails[key], ids[key] = u.email, u.id
            return u

        learner_x = user("learner_x", "learner")
        learner_z = user("learner_z", "learner")
        user("learner", "learner")
        accounts.join_cohort(learner_x.id, x.join_code)
        accounts.join_cohort(learner_z.id, z.join_code)
        ix = user("instructor_x", "instructor", s.id)
        iy = user("instructor_y", "instructor", s.id)
        iz = user("instructor_z", "instructor", t.id)
        accounts.attach_instructor(x.id, ix.id)
        accounts.attach_instructor(y.id, iy.id)
        accounts.attach_instructor(z.id, iz.id)
        user("admin_s", "school_admin", s.id)
        user("admin_t", "school_admin", t.id)
        user("site_admin", "site_admin")
        db.session.commit()
        return World(s.id, t.id, x.id, y.id, z.id, learner_x.id, learner_z.id, ix.id, iy.id, iz.id, emails, ids)


@pytest.fixture
def world(app) -> World:
    return build_world(app)
