"""The loaded content of one process: course and bank, read once at start-up and shared by requests."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app

from .bank import Bank, load_bank
from .course import Course, load_course
from .render import render_markdown
from .source import Problem


@dataclass
class Content:
    course: Course
    bank: Bank
    load_seconds: float

    @property
    def problems(self) -> list[Problem]:
        return sorted(self.course.problems + self.bank.problems)


_cache: dict[tuple, Content] = {}
_lock = threading.Lock()


def _signature(*roots: Path) -> tuple:
    parts = []
    for root in roots:
        if root.is_dir():
            parts.extend((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*")) if p.is_file())
    return tuple(parts)


def load_content(modules_dir: Path, bank_dir: Path) -> Content:
    """Load both content folders; cached per process while no file changes."""
    key = (str(modules_dir), str(bank_dir), _signature(modules_dir, bank_dir))
    with _lock:
        if key not in _cache:
            started = time.perf_counter()
            course = load_course(modules_dir)
            bank = load_bank(bank_dir, course)
            _cache.clear()
            _cache[key] = Content(course, bank, time.perf_counter() - started)
        return _cache[key]


def init_content(app: Flask) -> None:
    app.extensions["trainer.content"] = load_content(Path(app.config["MODULES_DIR"]),
                                                     Path(app.config["QUESTION_BANK_DIR"]))
    problems = app.extensions["trainer.content"].problems
    if problems:
        app.logger.warning("content has %d problem(s); run `trainer check` to list them", len(problems))


def content() -> Content:
    return current_app.extensions["trainer.content"]


@lru_cache(maxsize=8192)
def markdown_html(text: str) -> str:
    """Sanitised HTML for a piece of question Markdown, rendered once per process."""
    return render_markdown(text).html if text else ""
