"""A host given --redis: its cluster health, a Redis that goes away and
comes back, a URL that is not Redis's."""
from __future__ import annotations

import pytest
import requests

from game.client.host_process import HostProcess, HostStartError

from .conftest import ASYNC_MODES, wait_until


def health(host: HostProcess) -> dict:
    return requests.get(host.url + "/api/health", timeout=5).json()


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_health_follows_redis_down_and_back(tmp_path, redis_server, mode):
    host = HostProcess(tmp_path / "w.db", async_mode=mode, log_level="INFO",
                       extra_args=("--redis", redis_server.url)).start()
    try:
        wait_until(lambda: health(host)["cluster"]["redis"] == "up", timeout=10)
        assert health(host)["cluster"]["node"]
        redis_server.stop(kill=True)
        wait_until(lambda: health(host)["cluster"]["redis"] == "down", timeout=10)
        assert health(host)["ok"]  # the host itself keeps serving
        redis_server.start()
        wait_until(lambda: health(host)["cluster"]["redis"] == "up", timeout=15)
        log = host.log()
        assert "unreachable" in log and "is back" in log
    finally:
        host.stop()


def test_a_host_alone_has_no_cluster(world_host):
    assert requests.get(world_host.url + "/api/health", timeout=5).json()["cluster"] is None


def test_a_url_that_is_not_redis_is_one_line(tmp_path):
    with pytest.raises(HostStartError) as caught:
        HostProcess(tmp_path / "w.db", extra_args=("--redis", "http://x")).start()
    assert "--redis" in caught.value.reason and "not a Redis URL" in caught.value.reason


def test_cluster_processes_share_a_database_file_and_a_lone_host_does_not(tmp_path, redis_server):
    db = tmp_path / "w.db"
    cluster = ("--redis", redis_server.url)
    first = HostProcess(db, extra_args=cluster).start()
    try:
        second = HostProcess(db, log_path=tmp_path / "second.log", extra_args=cluster).start()
        try:
            assert health(first)["cluster"]["node"] != health(second)["cluster"]["node"]
            with pytest.raises(HostStartError) as caught:
                HostProcess(db, log_path=tmp_path / "alone.log").start()
            assert "already served by another host" in caught.value.reason
        finally:
            second.stop()
    finally:
        first.stop()
    alone = HostProcess(db, log_path=tmp_path / "lone.log").start()  # the lock is free again
    try:
        with pytest.raises(HostStartError) as caught:
            HostProcess(db, log_path=tmp_path / "late.log", extra_args=cluster).start()
        assert "the same --redis" in caught.value.reason
    finally:
        alone.stop()
