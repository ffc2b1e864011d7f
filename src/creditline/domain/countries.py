"""Countries, and where self-serve buying is available (requirement D8, seed 000).

An organization may say which country it is in: an ISO 3166-1 alpha-2 code (``DE``,
``US``), checked against the officially assigned codes (and ``XK``, the user-assigned
code payment providers use for Kosovo). Codes are case-insensitive on the way in and
kept upper-case.

The platform lists the countries where credits can be bought self-serve, through the
payment provider's checkout (:class:`SelfServeCountries`). Seed 000: "For certain
countries, you can continue ... by clicking on Buy Credits ... This is not available in
all countries yet ... If purchasing credits is not available in your country yet,
please click Contact Sales". The rule (:meth:`SelfServeCountries.allows`):

=========================  ====================  =====================================
the platform's list        the organization's    self-serve buying
=========================  ====================  =====================================
none (the default)         anything, or none     available (everywhere)
``US,CA,...``              a listed country      available
``US,CA,...``              another country       not available: contact sales
``US,CA,...``              none given            not available: contact sales
=========================  ====================  =====================================

An organization without a country, while a list is set, is sent to sales: the list
says where buying is known to be allowed, and an unknown country is not known to be in
it (an operator sets the country, and the organization can buy at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from creditline.domain.errors import InvalidSetting

__all__ = [
    "COUNTRY_CODES",
    "EVERYWHERE",
    "SelfServeCountries",
    "parse_country",
    "parse_self_serve_countries",
]

_ASSIGNED = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
"""

COUNTRY_CODES: frozenset[str] = frozenset(_ASSIGNED.split()) | {"XK"}
"""The 249 officially assigned ISO 3166-1 alpha-2 codes, and ``XK`` (Kosovo)."""


def parse_country(value: object, what: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code, upper-case.

    Raises:
        InvalidSetting: not a string, or not an assigned code.
    """
    if not isinstance(value, str):
        raise InvalidSetting(what, value, "an ISO 3166-1 alpha-2 code, such as DE or US")
    code = value.strip().upper()
    if code not in COUNTRY_CODES:
        raise InvalidSetting(what, value, "not an ISO 3166-1 alpha-2 country code (DE, US...)")
    return code


@dataclass(frozen=True, slots=True)
class SelfServeCountries:
    """Where credits can be bought self-serve (see the module docstring).

    Attributes:
        countries: the countries, sorted; ``None``: everywhere.
    """

    countries: tuple[str, ...] | None = None

    @property
    def everywhere(self) -> bool:
        return self.countries is None

    def allows(self, country: str | None) -> bool:
        """Whether an organization in ``country`` (``None``: not given) buys self-serve."""
        if self.countries is None:
            return True
        return country is not None and country in self.countries

    def describe(self) -> str:
        if self.countries is None:
            return "everywhere"
        return ", ".join(self.countries) if self.countries else "nowhere"


EVERYWHERE = SelfServeCountries()
"""No list: self-serve buying everywhere (the default)."""


def parse_self_serve_countries(value: str | Iterable[str] | None) -> SelfServeCountries:
    """The setting from text (``"US,CA"``; blank or ``"*"``: everywhere) or a sequence
    of codes (an empty one: nowhere, every organization is sent to sales).

    Raises:
        InvalidSetting: every code that is not an ISO 3166-1 alpha-2 code.
    """
    if value is None:
        return EVERYWHERE
    if isinstance(value, str):
        text = value.strip()
        if not text or text == "*":
            return EVERYWHERE
        items = [item for item in text.replace(" ", ",").split(",") if item.strip()]
    else:
        items = list(value)
    problems, codes = [], set()
    for item in items:
        try:
            codes.add(parse_country(item))
        except InvalidSetting:
            problems.append(repr(item))
    if problems:
        raise InvalidSetting(
            "self-serve countries",
            value,
            f"not ISO 3166-1 alpha-2 codes: {', '.join(problems)}",
        )
    return SelfServeCountries(tuple(sorted(codes)))
