"""The Primary Email rule's comparison: letter case aside, equal; look-alike addresses refused (issues 11.5, 12.9)."""

from __future__ import annotations

import pytest

from wizard.crm.addresses import AddressRefused, addresses_match, parse_address


@pytest.mark.parametrize(
    ("typed", "primary"),
    [
        ("anna.schmidt@contoso.com", "anna.schmidt@contoso.com"),
        ("Anna.Schmidt@Contoso.com", "anna.schmidt@contoso.com"),  # Dataverse and Exchange ignore case
        ("  anna.schmidt@contoso.com ", "anna.schmidt@contoso.com"),  # pasting adds blanks
        ("ANNA.SCHMIDT@CONTOSO.COM", "anna.schmidt@contoso.com"),
        ("jörg.bär@müller.de", "Jörg.Bär@xn--mller-kva.de"),  # the domain in its IDNA form
        ("jörg@MÜLLER.de", "jörg@müller.de"),
    ],
)
def test_the_same_mailbox(typed: str, primary: str) -> None:
    parse_address(typed)
    assert addresses_match(typed, primary)


@pytest.mark.parametrize(
    ("typed", "primary"),
    [
        ("nanderson@contoso.com", "nancy.anderson@contoso.com"),  # the original's example (reference B.1)
        ("anna.schmidt@contoso.de", "anna.schmidt@contoso.com"),
        ("strasse@contoso.com", "straße@contoso.com"),  # no folding of ß into ss
    ],
)
def test_different_mailboxes(typed: str, primary: str) -> None:
    assert not addresses_match(typed, primary)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("anna.schmidt@contoſo.com", "stand for other characters"),  # U+017F long s: IDNA maps it to s
        ("anna.ſchmidt@contoso.com", "stand for other characters"),  # in the local part: NFKC maps it
        ("anna@ｃｏｎｔｏｓｏ.com", "stand for other characters"),  # full-width letters
        ("anna.schmidt@cоntoso.com", "mixes letters of different scripts"),  # Cyrillic о among Latin
        ("аnna.schmidt@contoso.com", "mixes letters of different scripts"),  # Cyrillic а in the local part
        ("anna schmidt@contoso.com", "spaces or invisible characters"),
        ("anna\u200b@contoso.com", "spaces or invisible characters"),  # zero-width space
        ("anna.schmidt", "is not an email address"),
        ("@contoso.com", "is not an email address"),
        ("anna@", "is not an email address"),
        ("anna@contoso..com", "not a valid domain name"),
    ],
)
def test_look_alike_and_malformed_addresses_are_refused_with_a_reason(typed: str, said: str) -> None:
    with pytest.raises(AddressRefused) as refused:
        parse_address(typed)
    assert said in refused.value.user_text
    assert "Traceback" not in refused.value.user_text


def test_one_script_that_is_not_latin_is_fine() -> None:
    assert str(parse_address("Анна@пример.рф")) == "анна@xn--e1afmkfd.xn--p1ai"


def test_the_long_s_no_longer_equals_s_in_the_local_part() -> None:
    # casefold() made these equal; they are different strings to Exchange and Dataverse
    assert not addresses_match("anna.ſchmidt@contoso.com", "anna.schmidt@contoso.com")
