"""CalVer releases and the methods a gateway must offer."""

from __future__ import annotations

import pytest

from agents.gateway.compatibility import is_at_least, missing_methods, parse_version


def test_releases_order_by_date():
    assert parse_version("2026.4.29") < parse_version("2026.9.6") < parse_version("2027.1.2")
    assert parse_version("2026.10.1") > parse_version("2026.9.30")


def test_a_beta_comes_before_its_release_and_a_fix_after_it():
    beta1, beta2 = parse_version("2026.9.6-beta.1"), parse_version("2026.9.6-beta.2")
    release, fix = parse_version("2026.9.6"), parse_version("2026.9.6-1")
    assert beta1 < beta2 < release < fix < parse_version("2026.9.6-2") < parse_version("2026.9.7-beta.1")


@pytest.mark.parametrize("text", ["2026.9.6", "2026.9.6-beta.3", "2026.9.6-1"])
def test_a_version_prints_as_it_was_written(text):
    assert str(parse_version(text)) == text


def test_a_leading_v_and_spaces_are_accepted():
    assert parse_version(" v2026.4.29 ") == parse_version("2026.4.29")


@pytest.mark.parametrize("text", ["", "latest", "26.9.6", "2026.13.1", "2026.9", "2026.9.6.1", "OpenClaw 2026.9.6"])
def test_anything_else_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_version(text)


def test_is_at_least_compares_against_a_minimum():
    assert is_at_least("2026.9.6", "2026.4.29")
    assert is_at_least("2026.4.29", "2026.4.29")
    assert not is_at_least("2026.4.29-beta.1", "2026.4.29")


def test_missing_methods_lists_the_required_ones_not_offered_in_name_order():
    offered = ["health", "agents.list", "config.get"]
    assert missing_methods(offered, {"config.patch", "agents.list", "agents.create"}) == ("agents.create", "config.patch")
    assert missing_methods(offered, {"health"}) == ()
