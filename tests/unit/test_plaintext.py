"""The privacy tests' search: a person's number is found wherever it stands, but not inside a
digest or a moment, where it turns up by chance."""

from __future__ import annotations

from tests.plaintext import shows


def test_a_number_is_found_in_any_company() -> None:
    assert shows("1979", '{"birth_year": 1979, "gender": "female"}')
    assert shows("1979", "birth_year=1979")
    assert shows("1979", "born 05/1979")
    assert shows("7654321", "+375297654321")
    assert shows("1979", b"\x00BC-2026-00421979female\x00")


def test_a_number_inside_a_digest_or_a_moment_is_chance_not_the_person() -> None:
    digest = "9be1979f0c" + "0" * 54  # a SHA-256 in hex
    assert not shows("1979", f"mac {digest} at 2026-12-01 06:00:00.197912+00:00")
    assert not shows("1979", "datetime.datetime(2026, 12, 1, 6, 0, 0, 197912, tzinfo=UTC)")
    assert not shows("1979", b"2026-12-01 06:00:00.419790")


def test_words_are_found_anywhere_in_text_and_as_utf8_in_raw_bytes() -> None:
    assert shows("Алеся", "…Алеся Прыватная…")
    assert shows("Алеся", "x Алеся y".encode())
    assert not shows("Алеся", b"Alesia")
