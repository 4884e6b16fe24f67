from __future__ import annotations

import http.client
import json
import time

from tests.ops import servers

JSON_LOG_PORT = servers.port(18113)


def test_json_log_format_writes_one_json_object_per_access_line_from_gunicorn(tmp_path):
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "REQUEST_LOG_SLOW_MS": "1"}
    with servers.gunicorn(JSON_LOG_PORT, env, workers=1, tmp_path=tmp_path):
        connection = http.client.HTTPConnection("127.0.0.1", JSON_LOG_PORT, timeout=10)
        connection.request("GET", "/api/v1/sleep?ms=5", headers={"X-Request-ID": "json-from-gunicorn"})
        assert connection.getresponse().status == 200
        connection.close()
        time.sleep(0.3)
    lines = (tmp_path / f"gunicorn-{JSON_LOG_PORT}.log").read_text().splitlines()
    ours = [json.loads(line) for line in lines if line.startswith("{")]
    access = [line for line in ours if line["logger"] == "ops.access"]
    slow = [line for line in ours if line["logger"] == "ops.slow_requests"]
    assert len(access) == 1 and len(slow) == 1
    assert access[0]["request_id"] == "json-from-gunicorn"
    assert access[0]["level"] == "INFO"
    assert access[0]["route"] == "/api/v1/sleep" and access[0]["status"] == 200
    assert access[0]["duration_ms"] >= 5 and access[0]["db_queries"] == 0
    assert slow[0]["level"] == "WARNING" and slow[0]["request_id"] == "json-from-gunicorn"
    assert access[0]["time"].endswith("Z")
