"""A small LMS for the tests: the independent ``lti1p3platform`` package served on 127.0.0.1.

It signs launches with its own key, answers the tool's token requests, takes scores on its line items,
lists course members (NRPS) and receives deep-linking responses. The tool talks to it over real HTTP.
"""
from __future__ import annotations

import json
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService
from werkzeug.serving import make_server

TOOL = "https://tool.test"


def new_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class FlaskPlatformRequest(Request):
    def build_metadata(self, req) -> TRequest:
        return {"method": req.method, "form_data": req.form.to_dict(), "get_data": req.args.to_dict(),
                "headers": req.headers, "content_type": req.content_type, "path": req.path,
                "json": req.get_json(silent=True)}


class Conf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, lms: "Lms") -> None:
        self._registration = (
            Registration().set_iss(lms.issuer).set_client_id(lms.client_id).set_deployment_id(lms.deployment_id)
            .set_launch_url(f"{lms.tool_url}/lti/launch").set_deeplink_launch_url(f"{lms.tool_url}/lti/launch")
            .set_oidc_login_url(f"{lms.tool_url}/lti/login").set_platform_public_key(public_pem(lms.private_pem))
            .set_platform_private_key(lms.private_pem).set_tool_key_set(lms.tool_jwks))

    def get_registration_by_params(self, **kwargs):
        return self._registration


class Launch(LTIAdvantageMessageLaunchAbstract):
    lms: "Lms"

    def prepare_launch(self, preflight_response) -> None:
        spec = self.lms.next_launch
        self.set_user_data(spec["sub"], spec["roles"], full_name=spec.get("name"), email_address=spec.get("email"))
        if spec.get("context"):
            self.set_launch_context_claim(spec["context"], context_title=spec.get("context_title", "Anatomy 101"))
        if spec.get("resource_link"):
            self.set_resource_link_claim(spec["resource_link"], title="Activity")
        if spec.get("custom"):
            self.set_custom_parameters_claim(spec["custom"])
        if spec.get("lineitem"):
            self.set_ags(f"{self.lms.url}/lineitems", f"{self.lms.url}/lineitems/{spec['lineitem']}")
        elif spec.get("lineitems"):  # the course's line items service only; "readonly": the tool may not add any
            self.set_ags(f"{self.lms.url}/lineitems", allow_creating_lineitems=spec["lineitems"] != "readonly")
        if spec.get("context"):
            self.set_nrps(f"{self.lms.url}/memberships")
        if spec.get("deep_link"):
            self.set_dl(f"{self.lms.url}/deep_link_return", accept_types={"ltiResourceLink"})

    def render_launch_form(self, launch_data, **kwargs):
        if not self.lms.html:
            return jsonify(launch_data)
        # What an LMS sends the browser: a form that posts itself to the tool.
        return (f'<!doctype html><form method="post" action="{launch_data["launch_url"]}">'
                f'<input type="hidden" name="id_token" value="{launch_data["id_token"]}">'
                f'<input type="hidden" name="state" value="{launch_data["state"]}"></form>'
                '<script>document.forms[0].submit()</script>')


class Lms:
    """The platform: its settings, what it received, and the server thread."""

    def __init__(self, tool_jwks: dict, tool_url: str = TOOL, host: str = "127.0.0.1"):
        self.private_pem = new_private_pem()
        self.tool_jwks = tool_jwks
        self.client_id, self.deployment_id = "tool-client-1", "deployment-1"
        self.next_launch: dict = {}
        self.scores: list[dict] = []
        self.lineitems: list[dict] = []
        self.members: list[dict] = []
        self.content_items: list[dict] = []
        self.down = False
        self.html = False
        self.tool_url = tool_url
        self.app = self._build()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.issuer = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def conf(self) -> Conf:
        return Conf(lms=self)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def registration(self) -> dict:
        """The values a school admin copies from the LMS into the tool's console."""
        return {"name": "Test LMS", "issuer": self.issuer, "client_id": self.client_id,
                "deployment_ids": self.deployment_id, "auth_login_url": f"{self.url}/auth",
                "auth_token_url": f"{self.url}/token", "key_set_url": f"{self.url}/jwks"}

    def _build(self) -> Flask:
        app = Flask("test-lms")
        lms = self

        class Ags(AssignmentsGradesService):
            def find_lineitems(self, page=1, limit=None, **filters):
                return {"content": [dict(item) for item in lms.lineitems], "has_next": False}

            def update_score(self, line_item_id, score):
                lms.scores.append({"lineitem": line_item_id, **score})
                return UpdateScoreStatus.SUCCESS

            def get_results(self, line_item_id, page=1, limit=None, user_id=None):
                return {"content": [], "has_next": False}

            def find_lineitem(self, line_item_id):
                return {"id": line_item_id}

            def create_lineitem(self, lineitem):
                lms.lineitems.append({**lineitem, "id": f"{lms.url}/lineitems/made-{len(lms.lineitems) + 1}"})
                return lms.lineitems[-1]

            def update_lineitem(self, lineitem):
                return lineitem

            def delete_lineitem(self, line_item_id):
                return None

        class Nrps(NamesRoleProvisioningService):
            def get_member_data_page(self, page=1, limit=None, role=None, since=None, **kw):
                return {"content": [dict(m) for m in lms.members], "has_next": False}

            def get_context_by_id(self):
                return Context(id="course-1", label="A101", title="Anatomy 101")

        def reply(resp):
            body = json.dumps(resp.result) if resp.result is not None else resp.message
            return app.response_class(body, status=resp.code, mimetype=resp.media_type)

        @app.before_request
        def outage():
            if lms.down and request.path != "/jwks":
                return "LMS down for maintenance", 503

        @app.get("/jwks")
        def jwks():
            return jsonify({"keys": lms.conf().get_registration().get_jwks()})

        @app.get("/course")
        def course():
            """A course page of the LMS showing the tool in an iframe, as Moodle and Canvas do."""
            from urllib.parse import urlencode
            query = urlencode({"iss": lms.issuer, "login_hint": lms.next_launch["sub"], "lti_message_hint": "h",
                               "target_link_uri": f"{lms.tool_url}/lti/launch", "client_id": lms.client_id})
            return (f'<!doctype html><title>Anatomy 101</title><h1>Anatomy 101</h1>'
                    f'<iframe id="tool" width="800" height="600" src="{lms.tool_url}/lti/login?{query}"></iframe>')

        @app.get("/auth")
        def auth():
            launch = Launch(FlaskPlatformRequest(request), lms.conf())
            launch.lms = lms
            return launch.lti_launch()

        @app.post("/token")
        def token():
            return jsonify(lms.conf().get_access_token(request.form.to_dict()))

        @app.post("/lineitems/<item>/scores")
        def scores(item):
            service = Ags(FlaskPlatformRequest(request), lms.conf(), f"{lms.url}/lineitems",
                          f"{lms.url}/lineitems/{item}")
            return reply(service.handle_resp(service.handle_update_score, line_item_id=item))

        @app.route("/lineitems", methods=["GET", "POST"])
        def lineitems():
            service = Ags(FlaskPlatformRequest(request), lms.conf(), f"{lms.url}/lineitems")
            if request.method == "POST":
                return reply(service.handle_resp(service.handle_create_lineitem))
            page = service.handle_resp(service.handle_get_lineitems)
            if page.code == 200:  # AGS: a line item container is a JSON array (the next page in a Link header)
                page.result = page.result["content"]
            return reply(page)

        @app.get("/memberships")
        def memberships():
            service = Nrps(FlaskPlatformRequest(request), lms.conf(), f"{lms.url}/memberships")
            return reply(service.handle_resp(service.handle_get_members))

        @app.post("/deep_link_return")
        def deep_link_return():
            conf = lms.conf()
            conf.set_accepted_deeplinking_types(["ltiResourceLink"])
            lms.content_items.extend(conf.validate_deeplinking_resp({"JWT": request.form["JWT"]}))
            return "Content added to the course."

        return app
