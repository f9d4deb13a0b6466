"""Learner pages kept between requests, under a key that changes whenever what they show can change.

The home page and the progress dashboard read a dozen tables. Their main block is rendered once and kept (as
HTML, with the CSRF token left as a placeholder filled in per request) under a key made of:

- the learner's ``data_version`` and the site's ``version``, read in one statement at the start of the request:
  database triggers raise them in the same transaction as any change to the learner's records, their cohorts'
  quizzes and settings, or the bank and lessons (trainer/page_versions.py), so invalidation is exact;
- the learner's own settings that the pages use (on the row already loaded for the request);
- the quarter hour: ages, "today", the learner's study day and the pass forecast's hour move with the clock;
- this build of the code and templates, so a page kept in Redis by the release before is not served.

A kept page also carries the instant it stops being true whatever happens: the next learning step entering the
learn-ahead window, a quiz opening or closing, an attempt's time running out, a running exam's next minute.

Pages are kept in Redis when ``REDIS_URL`` is set (shared by every worker and host), else in a small LRU per
process. With ``PAGE_CACHE_VERIFY`` (on in the tests), every page served from the cache is also built afresh
at the instant it was kept, and a difference is an error: the whole test suite then checks the invalidation.
"""
from __future__ import annotations

import functools
import hashlib
import pickle
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from cachetools import LRUCache
from flask import current_app, g, has_app_context
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import bindparam, select

from ..database import wrote_in_transaction
from ..extensions import db
from ..models import SiteState, User, utcnow

#: bytes of pages kept per process without Redis (compressed: about 2 kB for a home page, 5 kB for a progress
#: page, so some 1,500 learners' pages), and how long Redis keeps one
LOCAL_BYTES = 12 * 1024 * 1024
REDIS_SECONDS = 3600
#: the clock's step in the key: every real time zone's offset and day start fall on a quarter hour
STEP = timedelta(minutes=15)
#: stands for the request's CSRF token in a kept page
CSRF_MARK = "\x00csrf\x00"

#: the site's counter, as a column of another statement
SITE_COLUMN = select(SiteState.version).where(SiteState.id == 1).scalar_subquery()
_VERSIONS = select(User.data_version, SITE_COLUMN).where(User.id == bindparam("learner_id"))


class StaleKeptPage(AssertionError):
    """A kept page differs from the same page built afresh (raised only with ``PAGE_CACHE_VERIFY``)."""


@dataclass(frozen=True)
class Kept:
    #: the block's HTML, compressed (zlib)
    packed: bytes
    #: when it was built, and the instant after which it no longer holds whatever the learner does
    built_at: datetime
    valid_until: datetime


def step_start(now: datetime) -> datetime:
    """The start of ``now``'s quarter hour (UTC)."""
    seconds = int(now.timestamp()) // int(STEP.total_seconds()) * int(STEP.total_seconds())
    return datetime.fromtimestamp(seconds, timezone.utc)


class _Store:
    """Kept values (pickled) by key: Redis when the app has ``REDIS_URL``, else this process's LRU, capped in
    bytes. An unreachable Redis is a miss, never an error."""

    def __init__(self, redis_url: str | None):
        import redis
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.local: LRUCache = LRUCache(LOCAL_BYTES, getsizeof=lambda packed: len(packed) + 100)
        self.errors = redis.RedisError

    def get_many(self, keys: list[str]) -> list:
        if not keys:
            return []
        if self.redis is None:
            packed = [self.local.get(k) for k in keys]
        else:
            try:
                packed = self.redis.mget(keys)
            except self.errors:
                return [None] * len(keys)
        return [pickle.loads(v) if v is not None else None for v in packed]

    def put_many(self, values: dict) -> None:
        packed = {key: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) for key, value in values.items()}
        if self.redis is None:
            self.local.update(packed)
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key, value in packed.items():
                pipe.set(key, value, ex=REDIS_SECONDS)
            pipe.execute()
        except self.errors:
            pass

    def get(self, key: str):
        return self.get_many([key])[0]

    def put(self, key: str, value) -> None:
        self.put_many({key: value})

    def clear(self) -> None:
        self.local.clear()


def store() -> _Store:
    """Where this app keeps values (pages here, forecasts in services/readiness.py)."""
    kept = current_app.extensions.get("page_cache")
    if kept is None:
        kept = current_app.extensions["page_cache"] = _Store(current_app.config.get("REDIS_URL"))
    return kept


def clear() -> None:
    """Forget the pages this process keeps (Redis entries expire by themselves or by key)."""
    if has_app_context() and "page_cache" in current_app.extensions:
        current_app.extensions["page_cache"].clear()


@functools.cache
def build_stamp() -> str:
    """This build of the code and templates (each file's path, size and modification time): a page kept in Redis
    by a release before is never served by the next one."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha1()
    for folder in (root / "trainer", root / "templates"):
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".html"):
                stat = path.stat()
                digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def note_counters(user_id: int, data_version: int, site_version: int | None) -> None:
    """The signed-in user's and the site's counters as the request read them with the user's row (web.py's
    user loader, one statement): ``versions`` and ``site_version`` give them for the rest of this transaction
    instead of reading them again. A page is built after its counters are read, so it never shows less than
    they say; a transaction that commits reads them again."""
    transaction = db.session().get_transaction()
    g._trainer_counters = (transaction, user_id, data_version, site_version or 0)
    g._trainer_site = (transaction, site_version or 0)


def _in_this_transaction(name: str):
    """What ``g.<name>`` keeps for the session's current transaction, or None (another transaction, or none)."""
    kept = g.get(name) if has_app_context() else None
    if kept is None or kept[0] is None or kept[0] is not db.session().get_transaction():
        return None
    return kept


def versions(learner_id: int) -> tuple[int, int]:
    """The learner's and the site's counters: as read with the signed-in user in this transaction, else read now
    (one statement)."""
    kept = _in_this_transaction("_trainer_counters")
    if kept is not None and kept[1] == learner_id:
        return kept[2], kept[3]
    row = db.session.execute(_VERSIONS, {"learner_id": learner_id}).one()
    return row[0], row[1] or 0


def _settings(learner: User) -> tuple:
    return (learner.name, learner.role, learner.timezone, learner.day_start_hour, learner.new_per_day,
            learner.desired_retention, learner.exam_date, learner.pre_exam, learner.srs_fit_id,
            repr(learner.srs_parameters))


def page(name: str, learner: User, build: Callable[[datetime], tuple[str, datetime]], *extra) -> Markup:
    """The main block of page ``name`` for ``learner``: kept, or built by ``build(now)`` and kept.

    :param build: renders the block at ``now`` with ``csrf_token()`` giving ``CSRF_MARK``; returns the HTML and
        the instant after which it would no longer hold (at most the end of the quarter hour is used)
    :param extra: anything else the block depends on (the pass mark)
    """
    def parts() -> tuple:
        learner_version, site_version = versions(learner.id)
        return learner.id, learner_version, site_version, _settings(learner), extra
    return block(name, parts, build)


def block(name: str, parts: Callable[[], tuple], build: Callable[[datetime], tuple[str, datetime]]) -> Markup:
    """A block of HTML kept under ``parts()`` (everything it shows depends on: counters read now, settings) and
    the quarter hour, or built by ``build(now)`` and kept. ``parts`` is called only when pages may be kept, and
    returns None when this one may not."""
    now = utcnow()
    if not current_app.config.get("PAGE_CACHE", True) or wrote_in_transaction():
        return _fill(build(now)[0])
    depends_on = parts()
    if depends_on is None:
        return _fill(build(now)[0])
    step = step_start(now)
    key = "trainer:page:" + hashlib.sha1(repr((build_stamp(), str(db.engine.url), name, depends_on,
                                               step.isoformat())).encode()).hexdigest()
    kept_values = store()
    kept = kept_values.get(key)
    if kept is not None and now < kept.valid_until:
        html = zlib.decompress(kept.packed).decode()
        if current_app.config.get("PAGE_CACHE_VERIFY"):
            _verify(name, html, kept.built_at, build)
        return _fill(html)
    html, until = build(now)
    kept_values.put(key, Kept(zlib.compress(html.encode(), 1), now, min(until, step + STEP)))
    return _fill(html)


def site_version() -> int:
    """The site's counter, read once per transaction (with the signed-in user, or by the first caller)."""
    kept = _in_this_transaction("_trainer_site")
    if kept is not None:
        return kept[1]
    version = db.session.scalar(select(SITE_COLUMN)) or 0
    if has_app_context():
        g._trainer_site = (db.session().get_transaction(), version)
    return version


def learner_values(name: str, learner_versions: dict[int, int], at: datetime, compute: Callable[[list[int]], dict],
                   *extra) -> dict:
    """Per-learner figures kept under each learner's counter: ``compute(ids)`` runs only for the learners whose
    figures are not kept (their counter moved, the site's did, or the quarter hour ``at`` is new).

    :param learner_versions: learner id -> their ``data_version``, as read in this request
    :param at: the instant the figures are for (a quarter-hour start: the same for every request in it)
    :param compute: learner ids -> learner id -> figures (picklable), for those ids
    """
    if not current_app.config.get("PAGE_CACHE", True) or wrote_in_transaction():
        return compute(list(learner_versions))
    head = (build_stamp(), str(db.engine.url), name, site_version(), at.isoformat(), extra)
    keys = {lid: "trainer:values:" + hashlib.sha1(repr((head, lid, v)).encode()).hexdigest()
            for lid, v in learner_versions.items()}
    kept_values = store()
    found = dict(zip(keys, kept_values.get_many(list(keys.values()))))
    missing = [lid for lid, value in found.items() if value is None]
    if missing:
        fresh = compute(missing)
        kept_values.put_many({keys[lid]: fresh.get(lid, _NONE) for lid in missing})
        found.update({lid: fresh.get(lid, _NONE) for lid in missing})
    if current_app.config.get("PAGE_CACHE_VERIFY") and len(missing) < len(keys):
        kept = [lid for lid in keys if lid not in missing]
        fresh = compute(kept)
        stale = [lid for lid in kept if fresh.get(lid, _NONE) != found[lid]]
        if stale:
            raise StaleKeptPage(f"kept {name} figures of learners {stale} differ from ones computed afresh")
    return {lid: value for lid, value in found.items() if value != _NONE}


#: what a learner without figures is kept as (so that they are not computed again)
_NONE = "-"


def _fill(html: str) -> Markup:
    return Markup(html.replace(CSRF_MARK, generate_csrf()) if CSRF_MARK in html else html)


def _verify(name: str, html: str, built_at: datetime, build: Callable[[datetime], tuple[str, datetime]]) -> None:
    fresh, _ = build(built_at)
    if fresh != html:
        import difflib
        diff = "\n".join(difflib.unified_diff(html.splitlines(), fresh.splitlines(), "kept", "fresh",
                                              lineterm="", n=1))
        raise StaleKeptPage(f"the kept {name} page differs from one built afresh:\n{diff}")
