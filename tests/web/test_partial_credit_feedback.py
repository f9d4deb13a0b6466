"""A learner's feedback on an imported question shows the partial credit it was graded with."""
from flask import get_template_attribute

from trainer.domain.grading import grade
from trainer.study.present import present

GALILEE = {"id": "from", "type": "single", "stem": "Jesus Christ was from", "explanation": "Nazareth.",
           "options": [{"id": "a", "text": "Jerusalem", "correct": False},
                       {"id": "b", "text": "Galilee", "correct": False, "weight": 50,
                        "feedback": "You need to be more specific"},
                       {"id": "c", "text": "Nazareth", "correct": True, "weight": 100}]}
ANIMAL = {"id": "animal", "type": "short", "stem": "Which is the best animal?", "explanation": "Frogs.",
          "answers": ["Frog"], "alternatives": [{"text": "Cat", "weight": 50,
                                                 "feedback": "What is it with Moodlers and cats?"}]}


def _render(app, q, response):
    with app.test_request_context():
        view = present(q, grade=grade(q, response), response=response)
        inputs = get_template_attribute("macros/question.html", "inputs")
        verdict = get_template_attribute("macros/question.html", "verdict")
        return str(verdict(view)) + str(inputs(view))


def test_a_half_credit_option_says_partly_correct_and_what_it_was_worth(app):
    html = _render(app, GALILEE, "b")
    assert "Partly correct</strong> (50 %)" in html
    assert "50 % of the mark" in html and "100 % of the mark" in html
    assert "You need to be more specific" in html


def test_a_half_credit_short_answer_shows_its_feedback_and_the_partial_answers(app):
    html = _render(app, ANIMAL, "cat")
    assert "Partly correct</strong> (50 %)" in html
    assert "Partial credit: Cat (50 %)" in html and "What is it with Moodlers and cats?" in html
    assert "Not correct" in _render(app, ANIMAL, "dog")
