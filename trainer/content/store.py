"""The loaded content of one process: course and bank, read once at start-up and shared by requests."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app

from . import cache as disk
from .bank import Bank, load_bank
from .course import Course, load_course
from .render import render_markdown
from .source import Problem


@dataclass
class Content:
    course: Course
    bank: Bank
    load_seconds: float
    #: True when read from the on-disk cache instead of parsed and rendered from the files
    from_cache: bool = False

    @property
    def problems(self) -> list[Problem]:
        return sorted(self.course.problems + self.bank.problems)


_cache: dict[tuple, Content] = {}
_lock = threading.Lock()


def load_content(modules_dir: Path, bank_dir: Path, cache_dir: Path | None = None) -> Content:
    """Load both content folders; cached per process while no file changes.

    With ``cache_dir``, a process that finds an entry for the same files (paths, sizes, mtimes) and the same
    loader code reads the parsed and rendered content from there instead of loading it again.
    """
    signature = disk.files_signature(modules_dir, bank_dir)
    key = (str(modules_dir), str(bank_dir), signature)
    with _lock:
        if key not in _cache:
            started = time.perf_counter()
            disk_key = disk.cache_key(signature) if cache_dir is not None else None
            loaded = disk.read(cache_dir, disk_key) if disk_key else None
            if loaded is not None:
                course, bank = loaded
            else:
                course = load_course(modules_dir)
                bank = load_bank(bank_dir, course)
                if disk_key:
                    disk.write(cache_dir, disk_key, (course, bank))
            _cache.clear()
            _cache[key] = Content(course, bank, time.perf_counter() - started, from_cache=loaded is not None)
        return _cache[key]


def content_cache_dir(app: Flask) -> Path | None:
    """Where the content cache lives: config CONTENT_CACHE_DIR (None turns it off), else the instance folder."""
    if "CONTENT_CACHE_DIR" in app.config:
        folder = app.config["CONTENT_CACHE_DIR"]
        return Path(folder) if folder else None
    return Path(os.environ.get("TRAINER_INSTANCE") or app.instance_path) / "content-cache"


def init_content(app: Flask) -> None:
    app.extensions["trainer.content"] = load_content(Path(app.config["MODULES_DIR"]),
                                                     Path(app.config["QUESTION_BANK_DIR"]), content_cache_dir(app))
    problems = app.extensions["trainer.content"].problems
    if problems:
        app.logger.warning("content has %d problem(s); run `trainer check` to list them", len(problems))


def content() -> Content:
    return current_app.extensions["trainer.content"]


@lru_cache(maxsize=8192)
def markdown_html(text: str) -> str:
    """Sanitised HTML for a piece of question Markdown, rendered once per process."""
    return render_markdown(text).html if text else ""
