"""Results handed to pandas: `pandas.DataFrame(result)` and
`result.to_pandas()` give one row per hit, one column per result column."""

from __future__ import annotations

import pytest

import sysmon_hunt

pandas = pytest.importorskip("pandas")


def test_a_dataframe_of_the_result_has_its_columns_and_rows() -> None:
    result = sysmon_hunt.scan(sysmon_hunt.sample_path(), users=True)
    frame = result.to_pandas()
    assert list(frame.columns) == [*result.columns, "users"]
    assert len(frame) == len(result) == 6
    assert [tuple(row) for row in frame[list(result.columns)].itertuples(index=False)] == [tuple(h) for h in result]
    assert [tuple(u) for u in frame["users"]] == list(result.users)
    assert str(frame["firstTime"].dtype).startswith("datetime64") and "UTC" in str(frame["firstTime"].dtype)
    plain = pandas.DataFrame(result)
    assert list(plain.columns) == list(result.columns)
    assert plain.equals(frame[list(result.columns)])


def test_other_by_fields_name_the_columns() -> None:
    result = sysmon_hunt.scan(sysmon_hunt.sample_path(), by="v3")
    frame = result.to_pandas()
    assert list(frame.columns) == list(result.columns) and "users" not in frame
    assert list(frame["process_name"]) == [hit.process_name for hit in result]


def test_an_empty_result_has_the_columns() -> None:
    result = sysmon_hunt.scan([])
    assert list(result.to_pandas().columns) == list(result.columns)
    assert len(result.to_pandas()) == 0
