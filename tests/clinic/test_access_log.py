"""gunicorn's access log through the project's logging (clinic.access_log)."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from clinic.access_log import AccessLogger
from clinic.logging import ACCESS_LOGGER

TOKEN = "Zk3v9QpL2mXr7TnB4wYc8HdJ6sFa1UeGoKiNbVhPq0M"


@pytest.fixture
def access_log(caplog) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    return caplog


def _log_request(path: str, query: str = "", status: str = "200 OK") -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": f"{path}?{query}" if query else path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_USER_AGENT": "Mozilla/5.0 (Jordan's phone)",
        "HTTP_REFERER": "https://mail.example/inbox",
    }
    response = SimpleNamespace(status=status, sent=512, headers=[])
    AccessLogger(Config()).access(
        response, SimpleNamespace(headers=[]), environ, timedelta(0, 0, 1500)
    )


def test_it_logs_method_path_status_and_duration(access_log):
    _log_request("/patients/12/")
    (record,) = access_log.records
    assert record.getMessage() == "GET /patients/12/ 200 1.5ms"
    assert (record.method, record.path, record.status, record.bytes, record.duration_ms) == (
        "GET",
        "/patients/12/",
        200,
        512,
        1.5,
    )


def test_it_masks_the_patient_token(access_log):
    _log_request(f"/p/glow-clinic/{TOKEN}/", status="302 Found")
    (record,) = access_log.records
    assert record.path == "/p/glow-clinic/[token]/"
    assert TOKEN not in record.getMessage()


def test_it_leaves_out_the_query_string(access_log):
    _log_request("/patients/", query="q=Jordan+Smith")
    (record,) = access_log.records
    assert "Jordan" not in record.getMessage() and "Jordan" not in str(vars(record))


def test_it_leaves_out_the_client_address_referer_and_user_agent(access_log):
    _log_request("/patients/")
    logged = str(vars(access_log.records[0]))
    assert "203.0.113.9" not in logged
    assert "mail.example" not in logged
    assert "Mozilla" not in logged


def test_a_line_break_in_the_path_cannot_forge_a_second_log_line(access_log):
    _log_request("/patients/\nGET /admin/ 200 1.0ms")
    (record,) = access_log.records
    assert "\n" not in record.getMessage()
    assert record.path == "/patients/\\nGET /admin/ 200 1.0ms"
