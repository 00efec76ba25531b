"""When two email addresses are the same mailbox, and which addresses are refused as look-alikes.

Dataverse compares email addresses case-insensitively (its text columns use a case-insensitive collation) and
Exchange resolves addresses case-insensitively, so ``Anna.Schmidt@Contoso.com`` is ``anna.schmidt@contoso.com``.
Case is all that is ignored:

- the local part is compared with ``str.lower()``, never ``casefold()``, which folds letters into *other*
  letters (``ſ`` into ``s``, ``ß`` into ``ss``);
- the domain is compared in its IDNA form (UTS #46 processing through the ``idna`` library, then A-labels), so
  ``müller.de`` and ``xn--mller-kva.de`` are one domain.

An address typed by the user is refused with a clear message when it holds characters that Unicode or IDNA
would silently turn into others (``contoſo.com``, full-width letters) or mixes scripts in one part (a Cyrillic
``о`` among Latin letters): the marks of a look-alike address. Script detection comes from
``confusable_homoglyphs`` (Unicode's script data, loaded only when an address is checked), not from a table
of our own.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import idna

from wizard.errors import RuleViolation


class AddressRefused(RuleViolation):
    """The typed address is not a usable email address, or looks like another one."""


@dataclass(frozen=True)
class Address:
    """An address in the form in which two addresses of the same mailbox are equal."""

    local: str  # lower case, otherwise as written
    domain: str  # IDNA A-labels, lower case

    def __str__(self) -> str:
        return f"{self.local}@{self.domain}"


def _split(text: str) -> tuple[str, str]:
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or not domain:
        raise AddressRefused(
            "not an email address",
            user_text=f"'{text.strip()}' is not an email address (name@domain).",
        )
    return local, domain


def _refuse_look_alike(shown: str, part: str, what: str) -> None:
    # Loaded when an address is typed, not at start-up: its Unicode tables take a while to read.
    from confusable_homoglyphs import categories, confusables

    compatible = unicodedata.normalize("NFKC", part)
    if compatible != part:
        odd = "".join(sorted({c for c in part if unicodedata.normalize("NFKC", c) != c}))
        raise AddressRefused(
            f"{what} not NFKC-stable",
            user_text=(
                f"The address {shown} contains characters that stand for other characters ({odd}), as "
                "look-alike addresses do. Type the address with the letters it is written with in Dynamics 365."
            ),
        )
    for label in part.split("."):
        if confusables.is_mixed_script(label, allowed_aliases=["COMMON", "INHERITED"]):
            scripts = sorted(categories.unique_aliases(label) - {"COMMON", "INHERITED"})
            raise AddressRefused(
                f"{what} mixes scripts {scripts}",
                user_text=(
                    f"The address {shown} mixes letters of different scripts ({', '.join(s.title() for s in scripts)}) "
                    "in one name, as look-alike addresses do. Type the address as it is written in Dynamics 365."
                ),
            )


def _domain(shown: str, domain: str) -> str:
    try:
        mapped = idna.uts46_remap(domain, std3_rules=True, transitional=False)
        ascii_form = idna.encode(mapped, uts46=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise AddressRefused(
            f"domain not IDNA: {type(exc).__name__}",
            user_text=f"The domain of {shown} is not a valid domain name.",
        ) from exc
    if mapped != unicodedata.normalize("NFC", domain).lower():
        changed = "".join(sorted({c for c in domain if idna.uts46_remap(c, std3_rules=False) != c.lower()}))
        raise AddressRefused(
            "domain changed by IDNA mapping",
            user_text=(
                f"The address {shown} contains characters that stand for other characters "
                f"({changed or domain}), as look-alike addresses do. Type the domain as it is written "
                "in Dynamics 365."
            ),
        )
    return ascii_form.lower()


def parse_address(text: str) -> Address:
    """The canonical form of an address the user typed, or :class:`AddressRefused` saying why not."""
    local, domain = _split(text)
    shown = text.strip()
    if any(unicodedata.category(c).startswith(("C", "Z")) for c in local):
        raise AddressRefused(
            "control or space characters in the local part",
            user_text=f"The address {shown} contains spaces or invisible characters.",
        )
    _refuse_look_alike(shown, local, "local part")
    _refuse_look_alike(shown, domain, "domain")
    return Address(local.lower(), _domain(shown, domain))


def _lenient(text: str) -> Address | None:
    """The canonical form of an address that is not the user's input (Dynamics 365's own value)."""
    local, at, domain = text.strip().rpartition("@")
    if not at:
        return None
    try:
        ascii_domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        ascii_domain = domain.lower()
    return Address(local.lower(), ascii_domain)


def addresses_match(address: str, primary_email: str) -> bool:
    """Whether a mailbox address is the user's Primary Email: letter case aside, they must be equal.

    Neither side is refused here (:func:`parse_address` does that for what the user types); an address that is
    not name@domain matches only itself.
    """
    a, b = _lenient(address), _lenient(primary_email)
    if a is None or b is None:
        return address.strip() == primary_email.strip()
    return a == b


__all__ = ["Address", "AddressRefused", "addresses_match", "parse_address"]
