"""Assigned quizzes: building and assigning them (staff), taking them against a server deadline (learners).

Records written here are what item analysis and cohort results read:

- one ``Attempt`` per sitting: ``kind="quiz"``, ``assignment_id``, ``started_at``, ``deadline_at``,
  ``submitted_at`` and ``score`` (0..1, unanswered items count 0) once submitted;
- one ``AttemptItem`` per question in the order shown, frozen to the ``QuestionVersion`` current at
  the start, with ``option_order`` (indices into the version's options) when options are shuffled,
  and ``response``/``score``/``answered_at`` once answered;
- one ``ReviewLog`` per answer (``kind="quiz"``, ``attempt_id``); quiz answers do not change the FSRS
  memory state, as with mock exams: an assessment measures, it does not schedule.

The work is split by audience and seam: ``limits`` (modes, limits, the error), ``pool`` (queries of the questions
a quiz may draw), ``settings`` (a quiz's settings and their rules), ``assignments`` (staff: setting a quiz for a
cohort, extra time, deadlines, reports) and ``attempts`` (learners: status, start, answer, submit, results).
Every public name is importable from ``trainer.services.quizzes`` as before.
"""
from __future__ import annotations

from .limits import FEEDBACK, MAX_ATTEMPTS, MAX_EXTRA_PERCENT, MAX_QUESTIONS, MODES, SHUFFLABLE, QuizError
from .pool import PoolCheck, check_pool, question_stems, questions_by_id, search_questions
from .settings import (QuizSettings, create_quiz, may_edit, retire_quiz, school_quizzes, set_fixed_questions,
                       staff_quiz, update_quiz, validate_settings)
from .assignments import (AssignmentReport, LearnerResult, assign, assignment_attempts, assignment_report,
                          cohort_learners, deadline_for, extra_percent, manageable_cohorts, refresh_deadlines,
                          reschedule, set_accommodation, staff_assignment, staff_attempt)
from .attempts import (QUIZ_WORDING, AssignmentStatus, QuizResult, answer, answers_visible, expire_if_due,
                       learner_assignment, learner_assignments, learner_status, own_attempt, result,
                       start_attempt, start_attempt_committed, submit)

__all__ = [
    'AssignmentReport', 'AssignmentStatus', 'FEEDBACK', 'LearnerResult', 'MAX_ATTEMPTS', 'MAX_EXTRA_PERCENT',
    'MAX_QUESTIONS', 'MODES', 'PoolCheck', 'QUIZ_WORDING', 'QuizError', 'QuizResult', 'QuizSettings',
    'SHUFFLABLE', 'answer', 'answers_visible', 'assign', 'assignment_attempts', 'assignment_report',
    'check_pool', 'cohort_learners', 'create_quiz', 'deadline_for', 'expire_if_due', 'extra_percent',
    'learner_assignment', 'learner_assignments', 'learner_status', 'manageable_cohorts', 'may_edit',
    'own_attempt', 'question_stems', 'questions_by_id', 'refresh_deadlines', 'reschedule', 'result',
    'retire_quiz', 'school_quizzes', 'search_questions', 'set_accommodation', 'set_fixed_questions',
    'staff_assignment', 'staff_attempt', 'staff_quiz', 'start_attempt', 'start_attempt_committed', 'submit',
    'update_quiz', 'validate_settings'
]
