"""The privacy tests' search: a person's year is found where it stands, not inside a hash."""

from __future__ import annotations

from tests.plaintext import shows


def test_a_year_standing_alone_is_found_in_a_dump_and_in_raw_bytes() -> None:
    assert shows("1979", '{"birth_year": 1979, "gender": "female"}')
    assert shows("1979", b"\x00birth 1979\x00")


def test_a_year_inside_a_hash_or_base64_is_chance_not_the_person() -> None:
    assert not shows("1979", "mac 9be1979f0c and token qZ1979x+")
    assert not shows("1979", b"\x12\x34ab1979cd")


def test_words_are_found_anywhere_in_text_and_as_utf8_in_raw_bytes() -> None:
    assert shows("Алеся", "…Алеся Прыватная…")
    assert shows("Алеся", "x Алеся y".encode())
    assert not shows("Алеся", b"Alesia")
