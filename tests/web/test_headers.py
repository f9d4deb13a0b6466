"""Links are built on the configured base URL, not the Host header; personal pages and exports are not cached."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import COURSE, client_as
from trainer.config import ConfigError, load_config


@pytest.mark.parametrize("base", ["https://trainer.example.org", None])
def test_reset_links_ignore_the_host_header(base, world, app):
    app.config.update(BASE_URL=base, WTF_CSRF_ENABLED=False)
    session = "session=" + client_as(app, world.ids["admin_s"]).get_cookie("session").value
    admin = app.test_client(use_cookies=False)  # sends the session cookie as given, whatever the Host says
    for headers in ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example", "Host": "evil.example:8443"}):
        headers["Cookie"] = session
        page = admin.post(f"/school/users/{world.learner_x}/reset-link", headers=headers).get_data(as_text=True)
        links = re.findall(r'value="(https?://[^"/]+)/reset/', page)
        assert links == [base or "http://127.0.0.1:5000"], page
        assert "evil.example" not in page


def test_production_needs_a_base_url(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("TRAINER_INSTANCE", str(tmp_path))
    monkeypatch.delenv("TRAINER_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="TRAINER_BASE_URL must be set when TRAINER_ENV=production"):
        load_config()
    monkeypatch.setenv("TRAINER_BASE_URL", "https://trainer.example.org/")
    assert load_config()["BASE_URL"] == "https://trainer.example.org"


@pytest.mark.parametrize("bad", ["trainer.example.org", "ftp://trainer.example.org", "https://u:p@trainer.example.org",
                                 "https://trainer.example.org/path", "https://trainer.example.org/?x=1",
                                 "https://trainer.example.org:port", "https://"])
def test_a_base_url_that_is_not_an_origin_is_refused(monkeypatch, tmp_path, bad):
    monkeypatch.setenv("TRAINER_INSTANCE", str(tmp_path))
    monkeypatch.setenv("TRAINER_BASE_URL", bad)
    with pytest.raises(ConfigError, match="scheme and host only"):
        load_config()


def test_serve_for_other_machines_refuses_to_start_without_a_base_url(tmp_path):
    """On 127.0.0.1 links point at this server; listening for other machines needs TRAINER_BASE_URL (as production
    does, see above), or reset links would be built on whatever Host header a request sends."""
    env = {"PATH": "/usr/bin:/bin", "TRAINER_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
           "TRAINER_MODULES_DIR": str(COURSE / "modules"), "TRAINER_QUESTION_BANK_DIR": str(COURSE / "question_bank")}
    result = subprocess.run([sys.executable, "-m", "trainer", "serve", "--host", "0.0.0.0", "--port", "1"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "set TRAINER_BASE_URL" in result.stderr and "serving on" not in result.stdout


def test_personal_pages_and_exports_are_not_stored(app, world):
    admin = client_as(app, world.ids["admin_s"])
    for url in ("/school/", f"/school/cohorts/{world.cohort_x}", f"/school/cohorts/{world.cohort_x}/students.csv",
                f"/school/cohorts/{world.cohort_x}/responses.csv", f"/school/cohorts/{world.cohort_x}/results.csv",
                f"/school/cohorts/{world.cohort_x}/quiz-responses.csv"):
        response = admin.get(url)
        response.close()  # a streamed export holds its request (and database session) open until closed
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", url
    learner = client_as(app, world.learner_x)
    for url in ("/home", "/study/dashboard", "/account/password"):
        assert learner.get(url).headers["Cache-Control"] == "no-store", url
    writer = client_as(app, world.instructor_x)
    export = writer.get("/bank/export?format=csv&source=shipped&confirm=1")
    export.close()
    assert export.headers["Cache-Control"] == "no-store" and export.mimetype == "text/csv"
    assert app.test_client().get("/login").headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200 and response.headers["Cache-Control"] != "no-store"
    response.close()


def test_a_page_links_static_files_by_version_and_the_browser_keeps_them(client, app):
    """Style sheets and scripts are linked under their content's digest and kept for a year under it; an address
    without the version, or with another one, is revalidated (a release changes the address of what it changes)."""
    import hashlib
    import re
    from pathlib import Path
    page = client.get("/login").get_data(as_text=True)
    linked = re.search(r'href="(/static/css/app\.css\?v=([0-9a-f]+))"', page)
    assert linked, "the style sheet is linked with its version"
    on_disk = (Path(app.static_folder) / "css" / "app.css").read_bytes()
    assert linked.group(2) == hashlib.sha1(on_disk).hexdigest()[:12]
    kept = client.get(linked.group(1))
    assert kept.status_code == 200 and "max-age=31536000" in kept.headers["Cache-Control"]
    kept.close()
    for address in ("/static/css/app.css", "/static/css/app.css?v=000000000000", "/static/css/app.css?v="):
        again = client.get(address)
        assert again.status_code == 200 and "max-age=31536000" not in again.headers["Cache-Control"], address
        again.close()
    assert client.get("/static/../trainer/web.py?v=1").status_code == 404


def test_a_static_file_edited_on_disk_is_linked_under_its_new_version_within_a_second(app, tmp_path):
    """A worker reads a static file's modification time at most once a second, not on every link, and still links
    an edited file (development) under its new content's digest once that second has passed."""
    import hashlib
    import os
    import time

    from flask import url_for
    (tmp_path / "theme.css").write_text("body { color: black }")
    app.static_folder = str(tmp_path)

    def linked() -> str:
        with app.test_request_context("/"):
            return url_for("static", filename="theme.css").rpartition("v=")[2]

    first = linked()
    assert first == hashlib.sha1(b"body { color: black }").hexdigest()[:12]
    (tmp_path / "theme.css").write_text("body { color: navy }")
    os.utime(tmp_path / "theme.css", (time.time() + 5, time.time() + 5))  # a new modification time, whatever the clock
    time.sleep(1.1)
    assert linked() == hashlib.sha1(b"body { color: navy }").hexdigest()[:12] != first
    with app.test_request_context("/"):
        assert "v=" not in url_for("static", filename="missing.css")  # no file: linked without a version
