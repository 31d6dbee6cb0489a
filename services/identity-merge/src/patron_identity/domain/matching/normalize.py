"""Field normalization: the canonical forms records are compared and blocked on."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True)
class NormalizationRules:
    """Per-tenant switches for how addresses of well-known mail providers are folded."""

    default_phone_region: str = "US"
    # gmail.com/googlemail.com: dots in the local part do not matter
    gmail_dots: bool = True
    # drop "+tag" in the local part for providers that deliver tagged mail to the same box
    plus_tags: bool = True


DEFAULT_RULES = NormalizationRules()

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# googlemail.com is the same mailbox as gmail.com, so it is folded regardless of the rules
_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
_PLUS_TAG_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "fastmail.fm",
        "proton.me",
        "protonmail.com",
        "pm.me",
    }
)

_APOSTROPHES = re.compile("['`\u2018\u2019\u02bc]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalize_email(raw: str | None, rules: NormalizationRules = DEFAULT_RULES) -> str | None:
    """Lower-cased address with provider-specific folding, or None when it is not an address."""
    if raw is None:
        return None
    text = raw.strip().casefold()
    if text.count("@") != 1 or any(ch.isspace() for ch in text):
        return None
    local, domain = text.split("@")
    domain = domain.rstrip(".")
    if not local or not domain or "." not in domain:
        return None
    if rules.plus_tags and domain in _PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if rules.gmail_dots and domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
    domain = _DOMAIN_ALIASES.get(domain, domain)
    if not local:
        return None
    return f"{local}@{domain}"


def normalize_phone(
    raw: str | None, rules: NormalizationRules = DEFAULT_RULES, *, country: str | None = None
) -> str | None:
    """E.164 form, or None when the text is not a valid number.

    A national number ("020 2460 9083") is read in the record's `country` when that is a
    known region, else in the tenant's default region. Numbers the numbering plan does not
    allow are not identifiers: placeholders such as "(555) 555-5555" would otherwise link
    every customer who typed one.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    # "00" is the international prefix in most of the world; the parser only knows the
    # default region's own prefix
    if text.startswith("00"):
        text = "+" + text[2:]
    region = rules.default_phone_region
    if country and country.strip().upper() in _PHONE_REGIONS:
        region = country.strip().upper()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PHONE_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


def _fold(raw: str) -> str:
    decomposed = unicodedata.normalize("NFKD", raw.casefold())
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # apostrophes join ("O'Brien" -> "obrien"); other punctuation separates ("Smith-Jones")
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub("", without_marks)).strip()


def normalize_name(raw: str | None) -> str | None:
    """Casefolded, accent-free, punctuation-free name with single spaces, or None if empty."""
    if raw is None:
        return None
    return _fold(raw) or None


_ADDRESS_ABBREVIATIONS = {
    "street": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "court": "ct",
    "place": "pl",
    "square": "sq",
    "terrace": "ter",
    "highway": "hwy",
    "parkway": "pkwy",
    "apartment": "apt",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}


def normalize_address(raw: str | None) -> str | None:
    """Folded street line with common street-type words abbreviated the same way."""
    folded = normalize_name(raw)
    if folded is None:
        return None
    return " ".join(_ADDRESS_ABBREVIATIONS.get(token, token) for token in folded.split())


def normalize_postcode(raw: str | None, country: str | None = None) -> str | None:
    """Upper-case postcode without spaces or dashes; US ZIP+4 is cut to the 5-digit ZIP."""
    if raw is None:
        return None
    code = re.sub(r"[\s\-]", "", raw).upper()
    if not code:
        return None
    if (country or "").upper() in ("", "US") and len(code) == 9 and code.isdigit():
        code = code[:5]
    return code
