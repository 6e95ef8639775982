"""The look object: its options, validation and the looks nobody chose."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from game.core import protocol as P

GOOD = {"skin": "tan", "hair": "bun", "hair_colour": "auburn", "shirt": "teal",
        "trousers": "navy", "shoes": "white"}
ASSETS = Path(__file__).resolve().parent.parent / "assets"


def refused(data, contains: str) -> None:
    with pytest.raises(P.ProtocolError) as info:
        P.parse_look(data)
    assert info.value.code == P.E_BAD_LOOK
    assert contains in info.value.message


def test_a_good_look_parses_and_round_trips():
    look = P.parse_look(GOOD)
    assert look == P.Look(**GOOD)
    assert look.as_dict() == GOOD
    assert P.parse_look(look.as_dict()) == look


@pytest.mark.parametrize("data,contains", [
    (None, "JSON object"), ("tan", "JSON object"), ([GOOD], "JSON object"),
    ({**GOOD, "hat": "red"}, "unknown look field(s): hat"),
    ({k: v for k, v in GOOD.items() if k != "shoes"}, "needs 'shoes'"),
    ({**GOOD, "shirt": "plaid"}, "'shirt' must be one of: red, coral"),
    ({**GOOD, "skin": 3}, "'skin' must be one of"),
    ({**GOOD, "hair": "Bun"}, "'hair' must be one of"),  # names are exact
    ({**GOOD, "hair_colour": ["black"]}, "'hair_colour' must be one of"),
])
def test_bad_looks_are_refused_with_a_code(data, contains):
    refused(data, contains)


def test_registration_look_is_optional():
    assert P.parse_registration_look({"username": "a", "password": "b"}) is None
    assert P.parse_registration_look({"look": None}) is None
    assert P.parse_registration_look({"look": GOOD}) == P.Look(**GOOD)
    with pytest.raises(P.ProtocolError):
        P.parse_registration_look({"look": {"skin": "green"}})


def test_enough_combinations_that_a_crowd_of_fifty_rarely_repeats():
    total = P.look_combinations()
    assert total == 8 * 8 * 12 * 18 ** 3
    # Birthday bound for 50 random looks: chance that any two are identical.
    p_repeat = 1.0
    for i in range(50):
        p_repeat *= (total - i) / total
    assert 1 - p_repeat < 0.001


def test_random_looks_are_valid_and_varied():
    rng = random.Random(5)
    looks = [P.random_look(rng) for _ in range(50)]
    assert all(P.parse_look(look.as_dict()) == look for look in looks)
    assert len(set(looks)) == 50
    assert len({look.hair for look in looks}) == len(P.LOOK_OPTIONS["hair"])


def test_default_looks_are_stable_valid_and_differ_between_neighbours():
    looks = [P.default_look(pid) for pid in range(1, 51)]
    assert looks == [P.default_look(pid) for pid in range(1, 51)]
    assert all(P.parse_look(look.as_dict()) == look for look in looks)
    assert len(set(looks)) == 50
    assert len({(look.hair, look.shirt) for look in looks}) >= 35


def test_the_client_falls_back_to_the_default_for_junk():
    assert P.look_or_default(GOOD, 7) == P.Look(**GOOD)
    assert P.look_or_default({"skin": "x"}, 7) == P.default_look(7)
    assert P.look_or_default(None, 7) == P.default_look(7)


def test_the_art_has_a_template_and_colours_for_every_option():
    info = json.loads((ASSETS / "avatars.json").read_text())["templates"]
    assert info["styles"] == list(P.LOOK_OPTIONS["hair"])
    assert (ASSETS / info["image"]).exists()
    for part, (field, palette) in info["parts"].items():
        assert set(info["palettes"][palette]) == set(P.LOOK_OPTIONS[field]), part
