"""answer sheets: each submitted quiz attempt's items packed into one row for item analysis, with response codes

Revision ID: staff02sheets
Revises: sci01difficulty
Create Date: 2026-12-06 09:00:00

Writes the sheet of every quiz attempt already submitted, in the format of ``services/answer_sheets.py`` as it
is at this revision (a migration does not import the app's code, which may change after it).
"""
import hashlib
import json

from alembic import op
import numpy as np
import sqlalchemy as sa


revision = 'staff02sheets'
down_revision = 'sci01difficulty'
branch_labels = None
depends_on = None

ITEM = np.dtype([("version", "<i4"), ("position", "<i4"), ("code", "<i4"), ("score", "<f8")])
BATCH = 2000


def _is_choice(data):
    kind = (data or {}).get("type")
    return kind == "truefalse" or (kind in ("single", "multiple") and bool(data.get("options")))


def _canonical(response):
    return json.dumps(response, sort_keys=True, separators=(",", ":"))


def _backfill(conn):
    versions = conn.execute(sa.text("SELECT id, data FROM question_version")).all()
    choice = {vid for vid, data in versions if _is_choice(json.loads(data) if isinstance(data, str) else data)}
    codes = {}
    last = 0
    while True:
        ids = list(conn.execute(sa.text(
            "SELECT id FROM attempt WHERE kind = 'quiz' AND submitted_at IS NOT NULL AND id > :last "
            "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).scalars())
        if not ids:
            return
        last = ids[-1]
        rows = conn.execute(sa.text(
            "SELECT attempt_id, question_version_id, position, score, CAST(response AS TEXT) FROM attempt_item "
            "WHERE attempt_id >= :first AND attempt_id <= :last ORDER BY attempt_id, position"),
            {"first": ids[0], "last": last}).all()
        wanted = set(ids)
        texts = {}
        for _a, version, _p, _s, text in rows:
            if text is not None and version in choice and text not in texts:
                value = json.loads(text)
                texts[text] = None if value is None else _canonical(value)
        new = sorted({t for t in texts.values() if t is not None and t not in codes})
        for text in new:
            digest = hashlib.sha256(text.encode()).hexdigest()
            conn.execute(sa.text("INSERT INTO response_code (digest, text) VALUES (:d, :t)"), {"d": digest, "t": text})
            codes[text] = conn.execute(sa.text("SELECT id FROM response_code WHERE digest = :d"), {"d": digest}).scalar()
        sheets = {attempt_id: [] for attempt_id in ids}
        for attempt_id, version, position, score, text in rows:
            if attempt_id not in wanted:
                continue
            code = codes[texts[text]] if text is not None and version in choice and texts[text] is not None else -1
            sheets[attempt_id].append((version, position, code, 0.0 if score is None else float(score)))
        conn.execute(sa.text("INSERT INTO attempt_sheet (attempt_id, items) VALUES (:a, :i)").bindparams(
            sa.bindparam("i", type_=sa.LargeBinary())),
            [{"a": a, "i": np.array(items, dtype=ITEM).tobytes()} for a, items in sheets.items()])


def upgrade():
    op.create_table('response_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_code')),
    sa.UniqueConstraint('digest', name=op.f('uq_response_code_digest'))
    )
    op.create_table('attempt_sheet',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_sheet_attempt_id_attempt')),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_attempt_sheet'))
    )
    _backfill(op.get_bind())


def downgrade():
    op.drop_table('attempt_sheet')
    op.drop_table('response_code')
