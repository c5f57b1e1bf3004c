"""Equal values held once: what the model's view cache relies on to fit a million records."""

from __future__ import annotations

from twin_assets.sharing import SHARE_MAX_CHARS, Sharer


def test_equal_party_dicts_and_strings_become_one_object_and_stay_equal():
    share = Sharer()
    a = {"parties": [{"role": "from", "name": "Ana", "email": None}], "attributes": {"refs": ["x"]}, "n": 3}
    b = {"parties": [{"role": "from", "name": "Ana", "email": None}], "attributes": {"refs": ["x"]}, "n": 3}
    sa, sb = share.value(a), share.value(b)
    assert sa == a and sb == b
    assert sa["parties"][0] is sb["parties"][0]
    assert sa["attributes"] is not sb["attributes"]  # holds a list: never shared, so never aliased by surprise
    assert sa["attributes"]["refs"][0] is sb["attributes"]["refs"][0]


def test_values_that_compare_equal_across_types_are_not_merged():
    share = Sharer()
    got = [share.value({"v": x}) for x in (1, 1.0, True)]
    assert [type(g["v"]) for g in got] == [int, float, bool]


def test_long_strings_are_left_alone():
    share = Sharer()
    long = "x" * (SHARE_MAX_CHARS + 1)
    share.text(long)
    assert len(share) == 0
