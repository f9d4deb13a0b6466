"""Calls from the tool to a platform (PyLTI1p3's service connector): scores (AGS) and members (NRPS)."""
from __future__ import annotations

from datetime import datetime

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector
import requests

from ..models import utcnow
from ..services import lti as service
from .tool import registration_for

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
TIMEOUT = 10


class _TimeoutSession(requests.Session):
    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


def _reason(exc: Exception) -> str:
    if isinstance(exc, LtiServiceException):
        return str(exc)[:300] or "the LMS refused the request"
    if isinstance(exc, requests.ConnectionError):
        return "the LMS could not be reached"
    if isinstance(exc, requests.Timeout):
        return "the LMS did not answer in time"
    return str(exc)[:300] or exc.__class__.__name__


def send_grade(grade, now: datetime | None = None) -> bool:
    """Post one outbox score to its line item; records sent / retrying / failed. Flushes, never raises."""
    now = now or utcnow()
    link = grade.link
    from ..lti.models import LtiPlatform
    from ..extensions import db
    platform = db.session.get(LtiPlatform, link.platform_id)
    try:
        connector = ServiceConnector(registration_for(platform), requests_session=_TimeoutSession())
        lineitem_url = link.lineitem_url or _found_or_made_lineitem(connector, grade)
        ags = AssignmentsGradesService(connector, {"scope": [SCORE_SCOPE], "lineitem": lineitem_url})
        score = (Grade().set_score_given(grade.score_given).set_score_maximum(grade.score_maximum)
                 .set_timestamp(grade.submitted_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
                 .set_activity_progress("Completed").set_grading_progress("FullyGraded").set_user_id(grade.sub))
        ags.put_grade(score)
    except requests.exceptions.JSONDecodeError:
        pass  # the LMS took the score (2xx) and answered with a body that is not JSON: nothing to read from it
    except (LtiException, requests.RequestException, ValueError) as exc:
        service.mark_failed(grade, _reason(exc), now)
        return False
    service.mark_sent(grade, now)
    return True


def _found_or_made_lineitem(connector: ServiceConnector, grade) -> str:
    """The placement's line item, when the launch named none: found by its resource link in the course's line
    items service, else created there (AGS), and kept on the placement. Raises LtiException, requests errors."""
    link = service.link_to_score(grade.link_id)
    if link.lineitem_url:  # made meanwhile for another score
        return link.lineitem_url
    ags = AssignmentsGradesService(connector, {"scope": [service.LINEITEM_SCOPE], "lineitems": link.lineitems_url})
    lineitem = ags.find_or_create_lineitem(LineItem(service.lineitem_spec(link, grade.score_maximum)),
                                           find_by="resource_link_id")
    if not lineitem.get_id():
        raise LtiException("the LMS made a line item without an id")
    service.keep_lineitem(link, lineitem.get_id())
    return link.lineitem_url


def fetch_members(context) -> list[dict]:
    """The course's members from the platform's NRPS endpoint (every page). Raises service.LtiError."""
    if not context.memberships_url:
        raise service.LtiError("The LMS has not offered a member list for this course yet: launch the tool "
                               "from the course once (as an instructor) and try again.", 409)
    connector = ServiceConnector(registration_for(context.platform), requests_session=_TimeoutSession())
    nrps = NamesRolesProvisioningService(connector, {"context_memberships_url": context.memberships_url})
    try:
        return nrps.get_members()
    except (LtiException, requests.RequestException, ValueError) as exc:
        raise service.LtiError(f"The member list could not be read: {_reason(exc)}.", 502) from None
