"""PyLTI1p3 wired to the database: registrations from LtiPlatform, keys from LtiKey, login state in LtiState."""
from __future__ import annotations

from flask import current_app
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deployment import Deployment
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract

from ..services import lti as service

COOKIE_PATH = "/lti/"


def key_secret() -> str:
    """The secret the tool's private keys are sealed under: TRAINER_LTI_KEY when set, else the app's SECRET_KEY."""
    return current_app.config.get("LTI_KEY") or current_app.config["SECRET_KEY"]


def registration_for(platform) -> Registration:
    key = service.signing_key(key_secret())
    return (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
            .set_key_set_url(platform.key_set_url).set_auth_login_url(platform.auth_login_url)
            .set_auth_token_url(platform.auth_token_url)
            .set_tool_private_key(service.private_pem(key, key_secret())).set_tool_public_key(_public_pem(key)))


def _public_pem(key) -> str:
    from jwcrypto.jwk import JWK
    return JWK(**key.public_jwk).export_to_pem().decode()


class DbToolConf(ToolConfAbstract):
    """Every issuer may hold several client ids; each registration is one LtiPlatform row."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        platform = service.find_platform(iss, client_id)
        return registration_for(platform) if platform is not None else None

    def find_deployment(self, iss, deployment_id):
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = service.find_platform(iss, client_id)
        if platform is None or deployment_id not in (platform.deployment_ids or []):
            return None
        return Deployment().set_deployment_id(deployment_id)

    def get_jwks(self, iss=None, client_id=None, **kwargs):
        return service.jwks()


class DbLaunchDataStorage(LaunchDataStorage):
    """Login state and nonces in the database: shared by every worker and host, and needing no session cookie
    (the Flask session cookie is not sent on the LMS's cross-site POST)."""

    _session_cookie_name = ""  # keys are random (state-uuid, nonce) already

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str):
        return service.state_get(self._prepare_key(key))

    def set_value(self, key: str, value, exp: int | None = None) -> None:
        service.state_set(self._prepare_key(key), value, exp or 3600)

    def check_value(self, key: str) -> bool:
        return service.state_get(self._prepare_key(key)) is not None


class LaunchCookies(FlaskCookieService):
    """The state cookie: only on /lti/ paths, SameSite=None and Secure so it survives the LMS's iframe POST."""

    def update_response(self, response):
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(key=key, value=data["value"], max_age=data["exp"], secure=True, path=COOKIE_PATH,
                                httponly=True, samesite="None")


def _request(data: dict | None = None) -> FlaskRequest:
    # The state cookie is Secure; behind a TLS-terminating proxy Flask may see http, so never rely on is_secure.
    return FlaskRequest(session={}, request_data=data, request_is_secure=True)


def oidc_login(data: dict | None = None) -> FlaskOIDCLogin:
    request = _request(data)
    login = FlaskOIDCLogin(request, DbToolConf(), cookie_service=LaunchCookies(request))
    login.set_launch_data_storage(DbLaunchDataStorage())
    return login


def message_launch(data: dict | None = None) -> FlaskMessageLaunch:
    request = _request(data)
    launch = FlaskMessageLaunch(request, DbToolConf(), cookie_service=LaunchCookies(request))
    launch.set_launch_data_storage(DbLaunchDataStorage())
    return launch


def restored_launch(launch_id: str) -> FlaskMessageLaunch:
    """A deep-linking launch validated earlier, by its unguessable id (single use: see forget_launch)."""
    request = _request({})
    return FlaskMessageLaunch.from_cache(launch_id, request, DbToolConf(), cookie_service=LaunchCookies(request),
                                         launch_data_storage=DbLaunchDataStorage())


def forget_launch(launch_id: str) -> None:
    storage = DbLaunchDataStorage()
    storage.set_value(launch_id, None, 1)
    service.state_set(storage._prepare_key(launch_id), None, 0)


def deep_link_jwt(message: FlaskMessageLaunch, item: dict) -> str:
    """The signed LtiDeepLinkingResponse holding one content item."""
    from pylti1p3.deep_link_resource import DeepLinkResource
    from pylti1p3.lineitem import LineItem
    resource = (DeepLinkResource().set_url(item["url"]).set_title(item["title"])
                .set_custom_params(item["custom"]))
    if item.get("score_maximum"):
        resource.set_lineitem(LineItem().set_score_maximum(item["score_maximum"]).set_label(item["title"])
                              .set_resource_id(item["resource_id"]))
    return message.get_deep_link().get_response_jwt([resource])
