"""`sysmon_hunt.dask.scan()` on a real Dask cluster (a `LocalCluster` of two
worker processes): the same result as a local `scan()`, whatever the split,
and a failed unit reported without losing the others' results.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import strategies as S
import sysmon_hunt
import sysmon_hunt.dask
from sysmon_hunt.dask import IncompleteScanError

distributed = pytest.importorskip("distributed", reason="needs dask[distributed] (the package's `dask` extra)")

ROOT = Path(__file__).resolve().parent.parent
GENERATE = ROOT / "benches" / "generate.py"


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def generate(path: Path, *args: str) -> str:
    subprocess.run(
        [sys.executable, str(GENERATE), "--seed", "3", "-o", str(path), *args], check=True, capture_output=True
    )
    return str(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> List[str]:
    """Generated logs in every shape a cluster scan plans differently: plain
    UTF-8 (cut in ranges) in three layouts, UTF-16 and gzip (whole files)."""
    d = tmp_path_factory.mktemp("corpus")
    return [
        generate(d / "realistic.log", "--kind", "realistic", "--size", "300K"),
        generate(d / "dense.log", "--kind", "dense", "--size", "60K", "--layout", "concat", "--crlf", "--groups", "7"),
        generate(d / "pretty.log", "--kind", "realistic", "--size", "80K", "--layout", "pretty", "--bom"),
        generate(d / "utf16.log", "--kind", "dense", "--size", "40K", "--utf16le"),
        generate(d / "gz.log.gz", "--kind", "realistic", "--size", "100K", "--gzip"),
        str(sysmon_hunt.sample_path()),
    ]


@pytest.mark.parametrize("split_bytes", [1999, 4096, 64 << 10, sysmon_hunt.dask.DEFAULT_SPLIT_BYTES])
def test_generated_corpus_equals_the_local_scan(client, corpus, split_bytes: int) -> None:
    local = sysmon_hunt.scan(corpus)
    assert len(local) > 10 and local.stats.malformed >= 1
    assert sysmon_hunt.dask.scan(corpus, client=client, split_bytes=split_bytes) == local


def test_options_reach_the_units(client, corpus) -> None:
    local = sysmon_hunt.scan(corpus[:2])
    assert sysmon_hunt.dask.scan(corpus[:2], client=client, split_bytes=5000, chunk_size=7) == local


@pytest.mark.parametrize("by", ["v3", "Computer,TargetFilename,User,EventRecordID"])
def test_grouping_options_equal_the_local_scan(client, corpus, by: str) -> None:
    options = dict(by=by, users=True, exclude=["TargetFilename=*.pdf:Zone.Identifier"])
    local = sysmon_hunt.scan(corpus, **options)
    assert len(local) > 5 and local.stats.excluded > 0 and any(local.users)
    on_cluster = sysmon_hunt.dask.scan(corpus, client=client, split_bytes=3000, **options)
    assert on_cluster == local
    assert on_cluster.by_fields == local.by_fields and on_cluster.users == local.users
    assert on_cluster.risk_events() == local.risk_events()


def test_directories_are_walked_as_a_local_scan_walks_them(client, corpus, tmp_path) -> None:
    root = tmp_path / "collected"
    (root / "host-b" / "deep").mkdir(parents=True)
    (root / "host-a").mkdir()
    for i, path in enumerate(corpus):
        target = root / ("host-a" if i % 2 else "host-b/deep") / Path(path).name
        target.write_bytes(Path(path).read_bytes())
    os.mkfifo(root / "host-a" / "pipe")  # found in a directory: skipped and reported
    local = sysmon_hunt.scan([str(root), corpus[0]])
    assert local.stats.files_skipped == 1 and len(local) > 10
    assert sysmon_hunt.dask.scan([str(root), corpus[0]], client=client, split_bytes=5000) == local


def test_streams_are_refused(client, corpus) -> None:
    with pytest.raises(TypeError, match="paths"):
        sysmon_hunt.dask.scan(["-"], client=client)
    with open(corpus[0], "rb") as stream, pytest.raises(TypeError, match="paths"):
        sysmon_hunt.dask.scan([stream], client=client)


def test_bad_grouping_options_fail_before_any_work(client, corpus) -> None:
    with pytest.raises(ValueError, match="count"):
        sysmon_hunt.dask.scan(corpus, client=client, by="Computer,count")
    with pytest.raises(ValueError, match="unknown field"):
        sysmon_hunt.dask.scan(corpus, client=client, exclude=["process_name=x"])
    with pytest.raises(TypeError, match="progress"):
        sysmon_hunt.dask.scan(corpus, client=client, progress=print)


# A cluster task costs milliseconds, so few examples, and splits that still
# cut most events (a generated event is 0.3-1.5 KB) without a task per byte;
# tests/test_partials.py cuts at every byte without a cluster.
@settings(max_examples=10)
@given(files=st.lists(S.log_files(max_events=6), min_size=1, max_size=4), split_bytes=st.integers(40, 600))
def test_generated_files_equal_the_local_scan(client, files, split_bytes: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for i, f in enumerate(files):
            path = os.path.join(directory, f"f{i}.log")
            Path(path).write_bytes(f.raw)
            paths.append(path)
        on_cluster = sysmon_hunt.dask.scan(paths, client=client, split_bytes=split_bytes)
        local = sysmon_hunt.scan(paths)
        note(f"cluster: {list(on_cluster)!r} {on_cluster.stats!r}")
        note(f"local: {list(local)!r} {local.stats!r}")
        assert on_cluster == local


def test_failed_units_are_reported_and_the_rest_is_merged(client, corpus, tmp_path) -> None:
    missing = str(tmp_path / "missing.log")
    truncated = tmp_path / "truncated.log.gz"
    truncated.write_bytes(gzip.compress(sysmon_hunt.sample_path().read_bytes())[:-40])
    good = corpus[:3]
    with pytest.raises(IncompleteScanError) as caught:
        sysmon_hunt.dask.scan([good[0], missing, good[1], str(truncated), good[2]], client=client, split_bytes=20000)
    failures = caught.value.failures
    assert [(f.path, f.start, f.end) for f in failures] == [(missing, 0, None)]
    assert isinstance(failures[0].error, FileNotFoundError)
    assert missing in str(caught.value)
    # The other units' results, merged: the local scan of the files that
    # could be read, the truncated stream's prefix and its damage report included.
    local = sysmon_hunt.scan([good[0], good[1], str(truncated), good[2]])
    assert caught.value.result == local and len(local) > 0
    (damaged,) = [entry for entry in local.stats.inputs if entry.damaged_at is not None]
    assert damaged.path == str(truncated)


def test_a_damaged_stream_keeps_its_prefix_as_locally(client, tmp_path) -> None:
    text = sysmon_hunt.sample_path().read_bytes()
    whole = gzip.compress(text)
    for name, data in [("cut.log.gz", whole[: len(whole) // 2]), ("tail.log.gz", whole + b"garbage after")]:
        path = tmp_path / name
        path.write_bytes(data)
        local = sysmon_hunt.scan(str(path))
        assert local.stats.inputs[0].damage is not None
        assert sysmon_hunt.dask.scan(str(path), client=client) == local


class ChangesAFileBeforeScanning:
    """A client that runs `change()` between planning and scanning, as if a
    file changed (or differed between machines) after it was planned."""

    def __init__(self, client, change) -> None:
        self.client, self.change = client, change

    def map(self, func, *iterables, **kwargs):
        if func is sysmon_hunt.dask._scan_unit:
            self.change()
        return self.client.map(func, *iterables, **kwargs)

    def cancel(self, futures) -> None:
        self.client.cancel(futures)


def test_failed_ranges_are_named_by_their_bytes(client, corpus, tmp_path) -> None:
    path = tmp_path / "changing.log"
    path.write_bytes(sysmon_hunt.sample_path().read_bytes())
    size = path.stat().st_size
    assert size > 40000
    # Planned as plain UTF-8 in ranges; gzip by the time the ranges are scanned.
    changing = ChangesAFileBeforeScanning(client, lambda: path.write_bytes(gzip.compress(path.read_bytes())))
    with pytest.raises(IncompleteScanError) as caught:
        sysmon_hunt.dask.scan([corpus[0], str(path)], client=changing, split_bytes=20000)
    failures = caught.value.failures
    assert [(f.path, f.start, f.end) for f in failures] == [
        (str(path), 0, 20000),
        (str(path), 20000, 40000),
        (str(path), 40000, 60000),
    ]
    for failure in failures:
        assert isinstance(failure.error, sysmon_hunt.ScanError) and "must be read whole" in str(failure.error)
    assert str(failures[1]).startswith(f"{path} [bytes 20000-40000]: ScanError: ")
    local = sysmon_hunt.scan(corpus[0])
    result = caught.value.result
    assert list(result) == list(local) and result.stats.events == local.stats.events
    assert (result.stats.files, result.stats.bytes) == (2, local.stats.bytes + size)


def test_bad_options_fail_before_any_work(client, corpus) -> None:
    with pytest.raises(TypeError, match="split_bytes"):
        sysmon_hunt.dask.scan(corpus, client=client, split_size=10)
    with pytest.raises(TypeError, match="threads"):
        sysmon_hunt.dask.scan(corpus, client=client, threads=2)
    with pytest.raises(TypeError, match="no_such_option"):
        sysmon_hunt.dask.scan(corpus, client=client, no_such_option=1)
    with pytest.raises(TypeError, match="EVTX prefilter"):
        sysmon_hunt.dask.scan(corpus, client=client, evtx_prefilter=False)
    with pytest.raises(ValueError, match="chunk_size"):
        sysmon_hunt.dask.scan(corpus, client=client, chunk_size=-1)
    for bad in (0, -5, True, 1.5):
        with pytest.raises(ValueError, match="split_bytes"):
            sysmon_hunt.dask.scan(corpus, client=client, split_bytes=bad)


def test_no_paths_is_an_empty_result(client) -> None:
    assert sysmon_hunt.dask.scan([], client=client) == sysmon_hunt.scan([])


def test_cli_on_a_running_cluster_prints_what_a_local_scan_prints(client, corpus) -> None:
    address = client.scheduler.address

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sysmon_hunt", "scan", "--format", "csv", *extra, *corpus[:3]],
            capture_output=True,
            text=True,
            timeout=300,
        )

    local, on_cluster = run(), run("--dask", address)
    assert local.returncode == on_cluster.returncode == 0, on_cluster.stderr
    assert on_cluster.stdout == local.stdout and local.stdout.count("\n") > 5
    # The same summary but for the time taken and the rate.
    timing = re.compile(r", \d+\.\d\d s \(\d+\.\d MB/s\)$", re.M)
    assert timing.sub("", on_cluster.stderr) == timing.sub("", local.stderr)
    assert timing.search(local.stderr)


def test_cli_risk_events_on_a_cluster_equal_the_local_ones(client, corpus) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sysmon_hunt", "scan", "--by", "v3", "--risk", *extra, *corpus[:3]],
            capture_output=True,
            text=True,
            timeout=300,
        )

    local, on_cluster = run(), run("--dask", client.scheduler.address)
    assert local.returncode == on_cluster.returncode == 0, on_cluster.stderr
    assert on_cluster.stdout == local.stdout and '"risk_object"' in local.stdout


def test_cli_reports_failed_units_after_the_other_results(client, corpus, tmp_path) -> None:
    missing = str(tmp_path / "missing.log")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sysmon_hunt",
            "scan",
            "--format",
            "csv",
            "--dask",
            client.scheduler.address,
            corpus[0],
            missing,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    local = subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", "scan", "--format", "csv", corpus[0]], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stdout == local.stdout
    assert f"failed: {missing} [bytes 0-end]: FileNotFoundError" in out.stderr


def test_cli_starts_a_local_cluster() -> None:
    sample = str(sysmon_hunt.sample_path())
    run = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "sysmon_hunt", "scan", "--format", "csv", *extra, sample],
        capture_output=True,
        text=True,
        timeout=300,
    )
    local, on_cluster = run(), run("--dask", "local:1")
    assert on_cluster.returncode == 0, on_cluster.stderr
    assert on_cluster.stdout == local.stdout and on_cluster.stdout.count("\n") == 7


@pytest.mark.parametrize("address", ["local:0", "local:x", "local:"])
def test_cli_refuses_a_bad_local_cluster(address: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sysmon_hunt", "scan", "--dask", address, "--sample"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "local:N" in out.stderr


def test_the_package_works_without_dask() -> None:
    """Dask is optional: with it hidden, scanning works and the cluster
    entry points say how to install it."""
    code = """
import sys
sys.modules["distributed"] = None  # makes `import distributed` fail
import sysmon_hunt, sysmon_hunt.dask
assert len(sysmon_hunt.scan(sysmon_hunt.sample_path())) == 6
for call in (lambda: sysmon_hunt.dask.scan([], client=None), lambda: sysmon_hunt.dask.connect("local:1").__enter__()):
    try:
        call()
    except ImportError as error:
        assert "pip install 'sysmon-hunt[dask]'" in str(error), error
    else:
        raise AssertionError("no ImportError")
from sysmon_hunt.cli import main
assert main(["scan", "--dask", "local:1", "--sample"]) == 2
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "sysmon-hunt[dask]" in out.stderr
