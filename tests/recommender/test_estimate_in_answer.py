"""recommend's `estimate` (CONTRACT.md, issue 15): on every answer, in the JSON schema, from the
encounter's hospital values and the answer's own MS-DRG and adjustment facts."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from cartcode.errors import InputError
from cartcode.recommender._recommend import recommend


def _schema() -> dict[str, Any]:
    text = (resources.files("cartcode") / "schemas" / "recommend-answer.schema.json").read_text()
    return dict(json.loads(text))


@pytest.mark.parametrize("facts", [
    {"setting": "inpatient", "date": "2025-12-01", "product": "Yescarta"},
    {"setting": "inpatient", "date": "2025-12-01", "product": "Yescarta", "clinical_trial": "this-product"},
    {"setting": "outpatient", "date": "2025-03-10", "product": "cilta-cel"},
    {"setting": "professional", "date": "2026-03-01", "product": "Breyanzi", "place_of_service": "office"},
])
def test_every_answer_has_an_estimate_that_validates(facts: dict[str, Any]) -> None:
    data = recommend(facts).to_json()
    assert "estimate" in data
    jsonschema.validate(data, _schema())
    assert data["estimate"]["currency"] == "USD"


def test_fy2026_inpatient_national_estimate() -> None:
    est = recommend({"setting": "inpatient", "date": "2025-12-01", "product": "Yescarta"}).to_json()["estimate"]
    assert est["total"] == "314231.00" and est["basis"] == "national"
    assert est["components"][0]["name"] == "operating DRG payment"


def test_trial_case_uses_the_decisions_adjustment() -> None:
    est = recommend({"setting": "inpatient", "date": "2025-12-01", "product": "Yescarta",
                     "clinical_trial": "this-product"}).to_json()["estimate"]
    assert est["total"] is None
    assert any("payment adjustment applies" in w for w in est["warnings"])


def test_hospital_values_flow_into_the_estimate() -> None:
    answer = recommend({"setting": "inpatient", "date": "2025-12-01", "product": "Yescarta",
                        "charges": 1500000, "operating_ccr": 0.3, "wage_index": 1.0})
    data = answer.to_json()
    assert data["encounter"]["charges"] == 1500000
    outlier = next(c for c in data["estimate"]["components"] if c["name"] == "outlier payment")
    assert outlier["amount"] == "76297.60"
    assert "charges" not in recommend({"setting": "inpatient", "date": "2025-12-01",
                                       "product": "Yescarta"}).to_json()["encounter"]


@pytest.mark.parametrize("bad", [{"charges": "lots"}, {"wage_index": 0}, {"operating_ccr": -1}, {"ime": True}])
def test_bad_hospital_values_are_input_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        recommend({"setting": "inpatient", "date": "2025-12-01", "product": "Yescarta", **bad})


def test_cli_text_shows_every_component(capsys: pytest.CaptureFixture[str]) -> None:
    from cartcode.cli._recommend_cmd import render_answer

    render_answer(recommend({"setting": "inpatient", "date": "2025-12-01", "product": "Yescarta",
                             "charges": 1500000, "operating_ccr": 0.3}))
    out = capsys.readouterr().out
    assert "Medicare payment estimate" in out and "operating DRG payment: $314,231.00" in out
    assert "outlier payment: $76,297.60" in out and "inputs:" in out


def test_cli_flags(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from cartcode.cli._main import app

    result = CliRunner().invoke(app, ["recommend", "--setting", "inpatient", "--date", "2025-12-01", "--product",
                                      "Yescarta", "--charges", "1500000", "--operating-ccr", "0.3",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    est = json.loads(result.output)["estimate"]
    assert est["total"] == "390528.60"
