"""Massage therapy training platform: the Flask application factory."""
from __future__ import annotations

from flask import Flask

from .config import PROJECT_ROOT, load_config

TEMPLATES = PROJECT_ROOT / "templates"


def create_app(config: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, CLI. No I/O beyond reading content files."""
    app = Flask(__name__, template_folder=str(TEMPLATES), instance_path=str(PROJECT_ROOT / "instance"))
    app.config.update(load_config(config))

    from . import models  # noqa: F401  (register tables)
    from .lti import models as lti_models  # noqa: F401  (register the LTI tables)
    from .extensions import csrf, db, init_migrations, limiter, login_manager
    db.init_app(app)
    if not app.config.get("SERVE_WORKER"):
        init_migrations(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"

    from .database import configure_engine_events
    configure_engine_events(app)

    from .content.store import init_content
    init_content(app)

    from .web import register_web
    register_web(app)

    from .timefmt import register_time_filters
    register_time_filters(app)

    from .charts import register_charts
    register_charts(app)

    from .auth.views import bp as auth_bp
    from .learn.views import bp as learn_bp
    from .study.views import bp as study_bp
    from .admin.views import bp as admin_bp
    from .school.views import bp as school_bp
    from .author.views import bp as author_bp
    from .bank.views import bp as bank_bp
    from .bank.transfer import bp as bank_io_bp
    from .quizzes.views import bp as quizzes_bp
    from .analysis.views import bp as analysis_bp
    from .account.views import bp as account_bp
    from .study.offline import bp as offline_bp
    for bp in (auth_bp, account_bp, learn_bp, study_bp, admin_bp, school_bp, author_bp, bank_bp, bank_io_bp, quizzes_bp,
               analysis_bp, offline_bp):
        app.register_blueprint(bp)

    from .lti.views import register_lti
    register_lti(app)

    from .bench_floor import register_bench_floor
    register_bench_floor(app)

    from .cli import register_cli
    register_cli(app)
    return app
