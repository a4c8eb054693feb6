"""Normalising contact data: emails, phone numbers (E.164), countries, timezones inferred where missing."""

from __future__ import annotations

from zoneinfo import available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezones

# One representative zone per country for leads with no phone to infer from (the most populous zone).
COUNTRY_TIMEZONES = {
    "US": "America/New_York",
    "CA": "America/Toronto",
    "MX": "America/Mexico_City",
    "BR": "America/Sao_Paulo",
    "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago",
    "CO": "America/Bogota",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "AT": "Europe/Vienna",
    "PT": "Europe/Lisbon",
    "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "GR": "Europe/Athens",
    "TR": "Europe/Istanbul",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "NG": "Africa/Lagos",
    "KE": "Africa/Nairobi",
    "ZA": "Africa/Johannesburg",
    "EG": "Africa/Cairo",
    "MA": "Africa/Casablanca",
    "IN": "Asia/Kolkata",
    "CN": "Asia/Shanghai",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "SG": "Asia/Singapore",
    "HK": "Asia/Hong_Kong",
    "ID": "Asia/Jakarta",
    "PH": "Asia/Manila",
    "TH": "Asia/Bangkok",
    "VN": "Asia/Ho_Chi_Minh",
    "AE": "Asia/Dubai",
    "SA": "Asia/Riyadh",
    "IL": "Asia/Jerusalem",
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
}
_TIMEZONES = available_timezones()


class ContactError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def normalise_email(email: str) -> str:
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_phone(raw: str, default_region: str) -> tuple[str, str | None]:
    """E.164 form of a phone number and its region; numbers without +country use the workspace's region."""
    try:
        number = phonenumbers.parse(raw, default_region.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ContactError("phone", f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactError("phone", f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), (
        phonenumbers.region_code_for_number(number)
    )


def phone_details(raw: str, default_region: str) -> tuple[str, str | None, str | None]:
    """E.164 form, region and (when the number has exactly one) time zone, from a single parse (imports)."""
    try:
        number = phonenumbers.parse(raw, default_region.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ContactError("phone", f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactError("phone", f"not a valid phone number: {raw!r}")
    zones = [zone for zone in phone_timezones.time_zones_for_number(number) if zone in _TIMEZONES]
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(number),
        zones[0] if len(zones) == 1 else None,
    )


def normalise_country(country: str) -> str:
    code = country.strip().upper()
    if code and (len(code) != 2 or not code.isalpha()):
        raise ContactError("country", f"use a two-letter ISO code, not {country!r}")
    return code


def infer_timezone(phone_e164: str | None, country: str | None) -> str | None:
    """The phone's zone when it has exactly one, else the country's representative zone."""
    if phone_e164:
        zones = [z for z in phone_timezones.time_zones_for_number(phonenumbers.parse(phone_e164)) if z in _TIMEZONES]
        if len(zones) == 1:
            return zones[0]
    return COUNTRY_TIMEZONES.get((country or "").upper())


def valid_timezone(name: str) -> bool:
    return name in _TIMEZONES
