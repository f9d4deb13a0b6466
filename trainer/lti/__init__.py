"""LTI 1.3 Advantage tool: the school's LMS launches lessons, quizzes and exams here (PyLTI1p3)."""
