"""The apps bench/metrics.py compares: one small JSON endpoint, without and with CHOM's request
metrics (prometheus-flask-exporter installed exactly as the app factory installs it).

    gunicorn --pythonpath bench metrics_apps:plain
    gunicorn --pythonpath bench metrics_apps:measured   # PROMETHEUS_MULTIPROC_DIR honoured
"""

from flask import Flask, jsonify

from chom.observability import metrics


def _app(with_metrics: bool) -> Flask:
    app = Flask(__name__)
    app.config.update(METRICS_NAMESPACE="chom", METRICS_IP_WHITELIST="127.0.0.1",
                      CHOM_TRUSTED_PROXIES="")

    @app.get("/ping")
    def ping():
        return jsonify({"data": {"pong": True}})

    if with_metrics:
        metrics.init_app(app)
    return app


plain = _app(False)
measured = _app(True)
