"""Who may use the UI: the token, its cookie, CSRF on every change, and quiet logs."""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from kontinue.testing import WorkflowEnvironment
from kontinue.ui.guarding import cookie_name, csrf_token

from .conftest import RunningUi


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def _post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_token_is_required_and_swapped_for_a_cookie(
    kontinue_env: WorkflowEnvironment, ui: RunningUi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    executions = f"{ui.base}/ns/{kontinue_env.namespace}/executions"
    status, _, body = _get(executions)
    assert status == 401 and "carries the token" in body
    status, _, _ = _get(f"{ui.base}/?token=wrong")
    assert status == 401
    status, headers, _ = _get(ui.url)
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    name = cookie_name(ui.server.port)
    assert cookie.startswith(f"{name}={ui.server.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, headers, body = _get(executions, {"Cookie": f"{name}={ui.server.token}"})
    assert status == 200 and "<h1>Executions</h1>" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    status, _, _ = _get(executions, {"Authorization": f"Bearer {ui.server.token}"})
    assert status == 200
    assert ui.server.token not in caplog.text  # access logs leave the query out
    assert re.search(r"GET / 303", caplog.text)


def test_changes_need_the_csrf_token_and_the_uis_own_origin(
    kontinue_env: WorkflowEnvironment, ui: RunningUi
) -> None:
    cancel = f"{ui.base}/ns/{kontinue_env.namespace}/executions/anything/cancel"
    signed = {"Cookie": f"{cookie_name(ui.server.port)}={ui.server.token}"}
    status, body = _post(cancel, {}, signed)
    assert status == 403 and "reload the page" in body
    status, _ = _post(cancel, {"_csrf": "forged"}, signed)
    assert status == 403
    good = {"_csrf": csrf_token(ui.server.token)}
    status, body = _post(cancel, good, {**signed, "Origin": "http://evil.example"})
    assert status == 403 and "Cross-site" in body
    status, _ = _post(cancel, good, {**signed, "Origin": ui.base})
    assert status == 303  # accepted: the answer is a notice that it does not exist
