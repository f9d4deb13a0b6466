"""What a quiz may be: its modes, feedback settings and limits, and the error a refused quiz request raises."""
from __future__ import annotations

from ..study import StudyError

MODES = ("fixed", "random", "blueprint")
FEEDBACK = ("immediate", "after_submit", "after_close")
#: question types whose options a quiz may shuffle (the others have no option list)
SHUFFLABLE = ("single", "multiple")
MAX_QUESTIONS = 200
MAX_ATTEMPTS = 20
MAX_EXTRA_PERCENT = 300


class QuizError(StudyError):
    """A quiz request refused; ``status`` is the HTTP code, ``field`` the form field it is about (if any)."""

    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(message, status)
        self.field = field
