"""Network layers as datasets: names, tags, the default suite, sampling, and each kind of truth."""

import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.neighbors import KernelDensity

import mibench
from mibench.core.closed_form import gaussian_mutual_information, isotropic_gaussian_entropy
from mibench.core.gaussian_mixture import draw_from_mixture
from mibench.datasets import DEFAULT_SUITE_TAG, dataset_tags
from mibench.datasets.network_layers import (
    DEFAULT_NETWORK_SUITE,
    LayerSpec,
    linear_gaussian_channel_parameters,
    sample_clean_and_noisy,
    trained_network,
)
from mibench.networks import capture, szt12


def test_registering_the_network_datasets_trains_nothing():
    code = (
        "import mibench\n"
        "from mibench.datasets.network_layers import trained_network\n"
        "names = mibench.list_datasets('network')\n"
        "assert len(names) > 50, len(names)\n"
        "assert trained_network.cache_info().currsize == 0\n"
        "import sys\n"
        "assert 'mibench.networks.models' not in sys.modules  # nor torch, through it\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _run_python(code: str, cache_dir) -> str:
    import os

    env = {**os.environ, "MIBENCH_CACHE_DIR": str(cache_dir), "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


# Builds a noisy layer (trains its network, computes its Monte Carlo truth), samples it, and
# prints the truth and a sample checksum; with "forbid", any training or truth computation fails.
_BUILD_AND_SAMPLE = """
import sys
import mibench
import mibench.datasets.network_layers as layers
import mibench.networks.training as training

if sys.argv[1:] == ["forbid"]:
    def forbidden(*args, **kwargs):
        raise AssertionError("trained or computed again although the cache holds it")
    training.train = forbidden
    layers._compute_truth = forbidden
dataset = mibench.get_dataset("net-szt12-relu-noisy0.2-L1-e4")
x, y = dataset.sample(200, seed=3)
print(repr(dataset.mutual_information), repr(float(y.sum())))
if sys.argv[1:] == ["forbid"]:  # and the command line's run, in this process
    from mibench.cli import main

    sys.exit(main(["run", "-e", "ksg", "-d", dataset.name, "--n", "300", "--format", "json"]))
"""


_LISTING = (
    "import sys\n"
    "from mibench.cli import main\n"
    "main(['list', 'datasets', '--tag', 'network', '--format', 'json'])\n"
    "assert 'torch' not in sys.modules, 'listing imported torch'\n"
)
_LAYER = "net-szt12-relu-noisy0.2-L1-e4"


@pytest.fixture(scope="module")
def filled_cache(tmp_path_factory):
    """A cache listed while empty, then filled by one process that built and sampled _LAYER."""
    import json

    directory = tmp_path_factory.mktemp("filled-cache")
    empty_listing = json.loads(_run_python(_LISTING, directory))
    first_output = _run_python(_BUILD_AND_SAMPLE, directory)
    return directory, empty_listing, first_output


# Slow: a second interpreter; tests/core/test_cache.py checks the cache across processes fast.
@pytest.mark.slow
def test_a_second_process_trains_nothing_and_gets_the_same_dataset(filled_cache):
    import json

    directory, _, first = filled_cache
    assert list((directory / "networks").glob("*.pt")) and list((directory / "truths").iterdir())
    second = _run_python(_BUILD_AND_SAMPLE.replace("sys.argv[1:]", '["forbid"]'), directory)
    first_line, run_output = second.split("\n", 1)
    assert first_line + "\n" == first  # same truth, same samples: bit-identical weights
    (record,) = json.loads(run_output)
    assert record["status"] == "ok" and record["truth"] == float(first.split()[0])


# Slow: three interpreters; test_registering_the_network_datasets_trains_nothing checks fast that
# listing builds nothing.
@pytest.mark.slow
def test_listing_trains_nothing_and_shows_cached_truths(filled_cache):
    import json

    directory, empty_listing, first_output = filled_cache
    rows = {row["name"]: row for row in empty_listing}
    assert len(rows) > 50 and rows[_LAYER]["mutual_information"] is None
    assert rows[_LAYER]["dim_x"] == 12 and rows[_LAYER]["dim_y"] == 10
    assert rows["net-label-szt12-tanh-det-L5-e40"]["dim_x"] == 1
    rows = {row["name"]: row for row in json.loads(_run_python(_LISTING, directory))}
    # The truth the building process reported, now listed without building anything.
    assert rows[_LAYER]["mutual_information"] == float(first_output.split()[0])
    assert 0 < rows[_LAYER]["mutual_information_stderr"] < 0.05
    others = [row for name, row in rows.items() if name != _LAYER]
    assert all(row["mutual_information"] is None for row in others if "noisy0.2" in row["name"])


def test_names_round_trip_and_tags_say_network_and_kind():
    names = mibench.list_datasets("network")
    assert 50 < len(names) < 150 and len(set(names)) == len(names)
    for name in names:
        spec = LayerSpec.parse(name)
        assert spec.name == name
        tags = dataset_tags(name)
        assert "network" in tags
        assert ("stochastic" in tags) != ("deterministic" in tags)
        assert ("stochastic" in tags) == (spec.sigma > 0)
    spec = LayerSpec.parse("net-label-szt12-relu-noisy0.1-L2-e40")
    assert (spec.target, spec.activation, spec.sigma, spec.layer, spec.epoch) == ("label", "relu", 0.1, 2, 40)
    with pytest.raises(ValueError, match="hidden layers 1 to 5"):
        LayerSpec("szt12", "tanh", 0.0, 6, 40)


def test_default_suite_has_a_small_set_of_network_layers_of_every_kind():
    default_networks = [
        n for n in mibench.list_datasets(DEFAULT_SUITE_TAG) if "network" in dataset_tags(n)
    ]
    assert sorted(default_networks) == sorted(DEFAULT_NETWORK_SUITE)
    assert 8 <= len(default_networks) <= 12
    specs = [LayerSpec.parse(n) for n in default_networks]
    assert {s.activation for s in specs} >= {"tanh", "relu"}
    assert {s.inputs for s in specs} == {"szt12", "gaussian-mixture"}
    assert {s.sigma > 0 for s in specs} == {True, False}
    assert len({s.layer for s in specs if s.inputs == "szt12"}) >= 2
    for name in mibench.list_datasets("linear-gaussian-channel"):
        assert DEFAULT_SUITE_TAG not in dataset_tags(name) and "network" not in dataset_tags(name)


def test_deterministic_discrete_truth_is_the_entropy_of_the_layer_over_the_input_set():
    dataset = mibench.get_dataset("net-szt12-relu-det-L5-e4")
    model = trained_network("szt12", "relu", 0.0).model(4)
    layer = capture(model, szt12().x, "hidden.4.activation")["hidden.4.activation"]
    counts = np.array(list(Counter(map(tuple, layer.tolist())).values())) / 4096
    assert dataset.mutual_information == pytest.approx(-(counts * np.log(counts)).sum(), abs=1e-12)
    assert dataset.mutual_information < math.log(4096) - 0.01  # ReLU merged inputs
    assert dataset.mutual_information_stderr == 0.0
    assert mibench.get_dataset("net-szt12-tanh-det-L3-e40").mutual_information == pytest.approx(
        math.log(4096)
    )


def test_noisy_first_layer_truth_agrees_with_an_independent_kde_computation():
    dataset = mibench.get_dataset("net-szt12-tanh-noisy0.1-L1-e40")
    assert 0.01 < dataset.mutual_information_stderr < 0.03
    centres = trained_network("szt12", "tanh", 0.1).activations(szt12().x, 40).clean[0]
    points, _ = draw_from_mixture(centres, 0.1, 2, np.random.default_rng(99))
    log_density = KernelDensity(bandwidth=0.1).fit(centres).score_samples(points)
    kde_mi = -log_density.mean() - isotropic_gaussian_entropy(10, 0.1**2)
    kde_stderr = log_density.std(ddof=1) / math.sqrt(log_density.size)
    combined = math.hypot(kde_stderr, dataset.mutual_information_stderr)
    assert dataset.mutual_information == pytest.approx(kde_mi, abs=4 * combined)
    # Finite, and below log 4096: the noise merges nearby inputs.
    assert 5.0 < dataset.mutual_information < math.log(4096) - 0.5


def test_continuous_input_truths():
    assert mibench.get_dataset("net-gaussian-mixture-tanh-det-L3-e40").mutual_information == math.inf
    assert mibench.get_dataset("net-gaussian-mixture-relu-det-L2-e40").mutual_information == math.inf
    label = mibench.get_dataset("net-label-gaussian-mixture-tanh-det-L3-e40")
    # Injective layers keep all of I(Y; X) = H(Y) - E H(Y | X), here from scipy's densities of
    # the four components on independent draws (not the input's own posterior code).
    rng = np.random.default_rng(99)
    means = 1.5 / math.sqrt(3) * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1.0]])
    x = means[rng.integers(0, 4, 100_000)] + 0.6 * rng.standard_normal((100_000, 3))
    densities = np.column_stack(
        [multivariate_normal(mean, 0.36 * np.eye(3)).pdf(x) for mean in means]
    )
    posterior = densities / densities.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(posterior > 0, posterior * np.log(posterior), 0.0).sum(axis=1)
    reference = math.log(4) + terms.mean()
    reference_stderr = terms.std(ddof=1) / math.sqrt(terms.size)
    combined = math.hypot(reference_stderr, label.mutual_information_stderr)
    assert label.mutual_information == pytest.approx(reference, abs=4 * combined)
    assert label.mutual_information_stderr < 0.001 and 0 < reference < math.log(4)


def test_noisy_label_truth_obeys_data_processing():
    first = mibench.get_dataset("net-label-szt12-tanh-noisy0.1-L1-e40")
    third = mibench.get_dataset("net-label-szt12-tanh-noisy0.1-L3-e40")
    margin = 2 * math.hypot(first.mutual_information_stderr, third.mutual_information_stderr)
    assert 0.3 < third.mutual_information < first.mutual_information + margin
    assert first.mutual_information <= math.log(2) + 2 * first.mutual_information_stderr


def test_sampling_draws_inputs_and_fresh_noise_reproducibly():
    dataset = mibench.get_dataset("net-szt12-tanh-noisy0.1-L1-e40")
    x, t = dataset.sample(2000, seed=5)
    assert x.shape == (2000, 12) and t.shape == (2000, 10) and t.dtype == np.float64
    x2, t2 = dataset.sample(2000, seed=5)
    assert np.array_equal(x, x2) and np.array_equal(t, t2)
    assert not np.array_equal(t, dataset.sample(2000, seed=6)[1])
    x3, s, t3 = sample_clean_and_noisy(dataset.name, 2000, np.random.default_rng(5))
    assert np.array_equal(x3, x) and np.array_equal(t3, t)
    assert (t - s).std() == pytest.approx(0.1, rel=0.03)
    # Each input's clean activation is the deterministic image of that input.
    model = trained_network("szt12", "tanh", 0.1).model(40)
    np.testing.assert_allclose(s, capture(model, x, "hidden.0.activation")["hidden.0.activation"])
    label_x, _ = mibench.get_dataset("net-label-szt12-tanh-det-L5-e40").sample(100, seed=0)
    assert label_x.shape == (100, 1) and set(np.unique(label_x)) <= {0.0, 1.0}


def test_linear_gaussian_channel_truth_equals_the_gaussian_mi_of_the_joint_covariance():
    weight, covariance = linear_gaussian_channel_parameters(3, 3)
    joint = np.block(
        [
            [covariance, covariance @ weight.T],
            [weight @ covariance, weight @ covariance @ weight.T + 0.25 * np.eye(3)],
        ]
    )
    dataset = mibench.get_dataset("linear-gaussian-channel-3-3-0.5")
    assert dataset.mutual_information == pytest.approx(gaussian_mutual_information(joint, 3), abs=1e-12)
    x, t = dataset.sample(50_000, seed=0)
    np.testing.assert_allclose(np.cov(np.hstack([x, t]).T), joint, atol=0.05)
    assert mibench.get_dataset("linear-gaussian-channel-3-3-0").mutual_information == math.inf
    assert "deterministic" in dataset_tags("linear-gaussian-channel-3-3-0")


def test_the_runner_reports_the_truth_and_its_error_for_a_network_layer():
    (record,) = mibench.run("ksg", "net-szt12-tanh-noisy0.1-L1-e40", n=500)
    assert record.ok and record.truth == mibench.get_dataset(record.dataset).mutual_information
    assert record.extras["truth_stderr"] > 0
