"""The X12 reader's specialised model builders give exactly what the generic ``construct`` gives:
same values, same ``__dict__`` key order (it decides the order of model_dump / JSON output) and
same fields set; the memoised date, amount and code parsers agree with their plain versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cartcode._codeformat import normalise
from cartcode.model import Coded, Diagnosis, Location
from cartcode.formats.x12 import _claim as xc
from cartcode.formats._fastbuild import construct, construct_from, location


def _same(a: object, b: object) -> None:
    assert type(a) is type(b)
    assert list(a.__dict__.items()) == list(b.__dict__.items())
    assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__  # type: ignore[attr-defined]
    assert a.model_dump_json() == b.model_dump_json()  # type: ignore[attr-defined]


def test_loc_of_is_location() -> None:
    ctx = xc.Context(file="f.837", index=0, kind="professional", component=":", repetition=None)
    seg = xc.Segment("SV1", ["SV1", "HC:38228"], 31, 30, 1200)
    _same(xc.loc_of(ctx, seg, "2400", "SV101-2"), location("f.837", 31, 30, "2400", "SV1", "SV101-2", 1200))
    _same(xc.loc_of(ctx, seg, "2400"), location("f.837", 31, 30, "2400", "SV1", None, 1200))
    _same(location("f", 1, 1, None, "ISA", None, 0),
          construct(Location, file="f", segment=1, line=1, segment_id="ISA", element=None, loop=None, offset=0))


def test_coded_and_diagnosis_are_construct() -> None:
    loc = location("f", 2, 2, "2300", "HI", "HI01-2", 10)
    _same(xc._coded("CPT", "38228", loc), construct(Coded, system="CPT", code="38228", loc=loc))
    _same(xc._diagnosis("ICD-10-CM", "C83.38", loc, "principal", None),
          construct(Diagnosis, system="ICD-10-CM", code="C83.38", loc=loc, kind="principal", poa=None))
    _same(xc._diagnosis("ICD-10-CM", "Z00.6", loc, "other", "Y"),
          construct(Diagnosis, system="ICD-10-CM", code="Z00.6", loc=loc, kind="other", poa="Y"))
    values = {"system": "HCPCS", "code": "Q2041", "loc": loc}
    _same(construct_from(Coded, values), construct(Coded, **values))


def test_memoised_parsers_agree() -> None:
    for text in ("20250310", "20250310-20250312", "202503101200", "20250230", "2025031", "", "abcdefgh", "20250310"):
        expected = None
        if len(text) >= 8 and text[:8].isdigit():
            try:
                expected = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            except ValueError:
                expected = None
        assert xc.parse_date(text) == expected, text
    for text, want in (("5000", Decimal("5000")), ("12.50", Decimal("12.50")), ("", None), ("x", None),
                       ("NaN", None), ("Infinity", None), ("5000", Decimal("5000"))):
        got = xc._decimal(text)
        assert got == want and str(got) == str(want), text
    for system, code in (("ICD-10-CM", "c8338"), ("revenue", "874"), ("ICD-10-CM", "Z006"), ("revenue", "874")):
        assert xc._normalised(system, code) == normalise(system, code)


def test_the_claim_builder_is_construct() -> None:
    """finish() fills a template instead of calling construct_from: same dict order, same fields
    set, same JSON, on every claim of the shared samples and the CAR-T fixtures."""
    from pathlib import Path

    from cartcode.model import Claim
    from cartcode.formats.x12 import _reader as x12
    from shared_data import SHARED

    files = [p for kind in ("institutional", "professional") for p in sorted((SHARED / "x12" / kind).iterdir())]
    fixtures = Path(__file__).resolve().parent / "fixtures" / "x12"
    files += sorted([*fixtures.glob("*.x12"), *fixtures.glob("*.edi")])
    seen = 0
    for path in files:
        for claim in x12.read(path.read_bytes(), path.name):
            if not isinstance(claim, Claim) or not claim.lines:
                continue
            d = claim.__dict__
            values = {k: d[k] for k in xc._CLAIM_GIVEN}
            values.update({k: d[k] for k in sorted(claim.__pydantic_fields_set__) if k not in values})
            _same(claim, construct_from(Claim, values))
            seen += 1
    assert seen > 10


def test_attribute_reads_of_models_behave_as_pydantic_s() -> None:
    """With the compiled build, our models' attribute reads skip pydantic's __getattr__; either
    way a missing attribute raises AttributeError with pydantic's message."""
    from cartcode.findings import Finding
    from cartcode.model import Claim, ClaimSource
    from cartcode.formats import _fastbuild as fastbuild

    if fastbuild._C is not None:  # the compiled build (test_native fails a test run without it)
        assert Claim in fastbuild.PLAIN_ATTRIBUTE_READS and Finding in fastbuild.PLAIN_ATTRIBUTE_READS
    claim = Claim(id="C1", kind="professional", source=ClaimSource(file="f", index=0))
    for obj, name in ((claim, "nope"), (claim.source, "nope"), (location("f", 1, 1, None, "ISA", None, 0), "x")):
        try:
            getattr(obj, name)
        except AttributeError as exc:
            assert str(exc) == f"{type(obj).__name__!r} object has no attribute {name!r}"
        else:
            raise AssertionError("no AttributeError")
    assert claim.setting == "professional" and claim.id == "C1"  # properties and fields still read
