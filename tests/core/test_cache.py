"""The disk cache: where it lives, what its keys cover, and that concurrent writers are safe."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mibench.core import cache


def test_the_directory_follows_the_variable_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(cache.CACHE_DIR_VARIABLE)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "mibench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "mibench"


def test_the_key_covers_the_content_and_the_library_versions(monkeypatch):
    key = {"recipe": [10, 7], "seed": 0}
    digest = cache.key_digest(key)
    assert cache.key_digest({"seed": 0, "recipe": [10, 7]}) == digest  # order does not matter
    assert cache.key_digest({**key, "seed": 1}) != digest
    versions = dict(cache.library_versions())
    assert set(versions) == {"mibench", "numpy", "torch"}
    monkeypatch.setattr(cache, "library_versions", lambda: {**versions, "torch": "0.0"})
    assert cache.key_digest(key) != digest


def test_json_round_trip_and_unreadable_entries_are_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(tmp_path))
    key = {"what": "a truth", "layer": 3}
    assert cache.read_json("truths", key) is None
    cache.write_json("truths", key, {"value": float("inf"), "stderr": 0.5})
    assert cache.read_json("truths", key) == {"value": float("inf"), "stderr": 0.5}
    cache.entry_path("truths", key, ".json").write_text("{not json")
    assert cache.read_json("truths", key) is None
    assert list((tmp_path / "truths").glob(".*tmp")) == []


def test_an_unwritable_cache_costs_time_not_the_result(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(blocker / "cache"))
    cache.write_json("truths", {"k": 1}, 1.0)  # no error
    assert cache.read_json("truths", {"k": 1}) is None


WRITER = textwrap.dedent(
    """
    import sys
    from mibench.core import cache

    tag = sys.argv[1]
    key = {"what": "shared entry"}
    # A value of about 1 MB, so that a torn write would show.
    value = {"writer": tag, "payload": [tag * 100] * 5000}
    for _ in range(15):
        cache.write_json("race", key, value)
        seen = cache.read_json("race", key)
        assert seen is not None and len(seen["payload"]) == 5000, "a reader saw a torn entry"
        assert seen["payload"] == [seen["writer"] * 100] * 5000, "two writers mixed"
    """
)


def test_two_processes_filling_one_entry_at_once_leave_a_whole_file(tmp_path):
    env = {**__import__("os").environ, cache.CACHE_DIR_VARIABLE: str(tmp_path)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, tag], env=env, stderr=subprocess.PIPE)
        for tag in ("a", "b")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    (entry,) = Path(tmp_path, "race").iterdir()  # one entry, no temporary file left behind
    stored = json.loads(entry.read_text())["value"]
    assert stored["writer"] in ("a", "b")
    assert stored["payload"] == [stored["writer"] * 100] * 5000


def test_a_structurally_wrong_entry_is_missing_and_a_whole_one_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(tmp_path))
    key = {"what": "a truth"}
    fields = {"value": float, "stderr": float}
    cache.write_json("truths", key, {"value": 1, "stderr": 0.5})
    assert cache.read_json_fields("truths", key, fields) == {"value": 1.0, "stderr": 0.5}
    for wrong in ({"value": "abc", "stderr": 0.1}, {"value": 1.0}, [1.0, 0.1],
                  {"value": True, "stderr": 0.1}):
        cache.write_json("truths", key, wrong)
        assert cache.read_json_fields("truths", key, fields) is None


def test_the_truth_caches_of_datasets_treat_a_wrong_entry_as_missing(tmp_path, monkeypatch):
    from mibench.datasets import fine_distributions, network_layers

    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(tmp_path))
    spec = network_layers.LayerSpec("szt12", "tanh", 0.0, 1, 0)
    layer_key = network_layers._truth_key(spec)
    cache.write_json("truths", layer_key, {"value": 1.5, "stderr": 0.0, "how": "exact"})
    assert network_layers.cached_truth(spec) == (1.5, 0.0, "exact")  # the control: whole
    cache.write_json("truths", layer_key, {"value": {"nested": 1}, "stderr": 0.0, "how": 3})
    assert network_layers.cached_truth(spec) is None

    fine_key = fine_distributions._truth_key("some-task")
    cache.write_json("truths", fine_key, {"value": 0.7, "stderr": 0.001})
    assert fine_distributions.cached_truth("some-task") == (0.7, 0.001)
    cache.write_json("truths", fine_key, {"value": None, "stderr": "x"})
    assert fine_distributions.cached_truth("some-task") is None


def test_a_structurally_wrong_cached_network_is_trained_again(tmp_path, monkeypatch):
    import torch

    import mibench.networks.training as training
    from mibench.datasets import network_layers

    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(tmp_path))

    class Retrained(Exception):
        pass

    def train(*args, **kwargs):
        raise Retrained

    monkeypatch.setattr(training, "train", train)
    arguments = ("szt12", "tanh", 0.0)
    path = cache.entry_path("networks", network_layers._network_key(*arguments), ".pt")
    path.parent.mkdir(parents=True)
    load = network_layers.trained_network.__wrapped__  # past the in-process cache
    for wrong in ({"config": "x", "snapshots": {}, "history": {}}, [1, 2, 3],
                  {"config": {}, "snapshots": {0: "not a state"}, "history": {}}):
        torch.save(wrong, path)
        with pytest.raises(Retrained):
            load(*arguments)
    # The control: a whole entry is read, not trained.
    torch.save({"config": {}, "snapshots": {0: {}}, "history": {"loss": []}}, path)
    assert load(*arguments).snapshots == {0: {}}
