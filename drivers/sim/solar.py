"""Sunshine on a building's façades: sun position, clear-sky irradiance, a seeded cloudiness.

Rules of this module: pure functions of (time, place, seed); no clock, no I/O.

* Sun position: ``astral`` (elevation with refraction, azimuth clockwise from north).
* Clear sky: the ASHRAE clear-sky model (ASHRAE Handbook of Fundamentals 1997, ch. 29 Table 8;
  the same coefficients as pvlib's ``ashrae`` data): direct normal ``DNI = A·exp(−B / sin β)``, diffuse
  horizontal ``C·DNI``, with the month's A, B, C.
* Clouds: one cloud fraction per local day, drawn from a Beta distribution of mean ``cloud_cover``
  (seeded by day, so any day is reproducible alone); global irradiance and its diffuse part under
  that cloud follow Kasten & Czeplak (1980, Solar Energy 24:177–189):
  ``G = G_clear·(1 − 0.75·N^3.4)`` and ``D/G = 0.3 + 0.7·N²`` (N the cloud fraction).
* Vertical façades: beam × cos θ (θ the incidence angle, ``cos θ = cos β·cos(γ_sun − γ_façade)``)
  × the ASHRAE incidence-angle modifier of glass ``1 − 0.1·(1/cos θ − 1)``; sky diffuse isotropic
  (half the horizontal diffuse); ground-reflected with albedo 0.2 (half of ρ·G).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from astral import Observer
from astral.sun import azimuth, elevation

NS = 1_000_000_000
DAY_S = 86_400
#: ASHRAE clear-sky coefficients by month: A (W/m²), B, C (21st of each month)
ASHRAE_ABC: tuple[tuple[float, float, float], ...] = (
    (1230, 0.142, 0.058),
    (1215, 0.144, 0.060),
    (1186, 0.156, 0.071),
    (1136, 0.180, 0.097),
    (1104, 0.196, 0.121),
    (1088, 0.205, 0.134),
    (1085, 0.207, 0.136),
    (1107, 0.201, 0.122),
    (1151, 0.177, 0.092),
    (1192, 0.160, 0.073),
    (1221, 0.149, 0.063),
    (1233, 0.142, 0.057),
)
GROUND_ALBEDO = 0.2
IAM_B0 = 0.1
#: Beta distribution concentration of the daily cloud fraction (α + β)
CLOUD_CONCENTRATION = 4.0


@dataclass(frozen=True, slots=True)
class Sky:
    """The sky over one site. ``utc_offset_h`` places the daily cloud draw on local days."""

    latitude: float
    longitude: float
    seed: int = 1
    cloud_cover: float = 0.7
    utc_offset_h: float = 1.0
    _observer: Observer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.cloud_cover <= 1:
            raise ValueError("cloud_cover is a fraction between 0 and 1")
        object.__setattr__(self, "_observer", Observer(self.latitude, self.longitude, 0.0))

    def cloud_fraction(self, time_ns: int) -> float:
        """The cloud fraction (0 clear – 1 overcast) of the local day of ``time_ns``."""
        day = int((time_ns / NS + self.utc_offset_h * 3600) // DAY_S)
        mean = self.cloud_cover
        if mean <= 0 or mean >= 1:
            return mean
        rng = random.Random(f"{self.seed}:cloud:{day}")  # noqa: S311 (a simulation, not cryptography)
        return rng.betavariate(CLOUD_CONCENTRATION * mean, CLOUD_CONCENTRATION * (1 - mean))

    def sun(self, time_ns: int) -> tuple[float, float]:
        """(elevation, azimuth) of the sun in degrees."""
        moment = datetime.fromtimestamp(time_ns / NS, UTC)
        return elevation(self._observer, moment), azimuth(self._observer, moment)

    def horizontal(self, time_ns: int) -> tuple[float, float, float]:
        """(global, diffuse, direct normal) irradiance in W/m² under the day's cloud."""
        beta, _ = self.sun(time_ns)
        return self._horizontal(time_ns, beta)

    def _horizontal(self, time_ns: int, beta: float) -> tuple[float, float, float]:
        if beta <= 0.5:
            return 0.0, 0.0, 0.0
        month = datetime.fromtimestamp(time_ns / NS, UTC).month
        a, b, c = ASHRAE_ABC[month - 1]
        sin_b = math.sin(math.radians(beta))
        dni_clear = a * math.exp(-b / sin_b)
        global_clear = dni_clear * (sin_b + c)
        n = self.cloud_fraction(time_ns)
        global_ = global_clear * (1 - 0.75 * n**3.4)
        diffuse = max(global_ * (0.3 + 0.7 * n * n), min(global_, c * dni_clear))
        dni = (global_ - diffuse) / sin_b
        return global_, diffuse, dni

    def on_facades(self, time_ns: int, azimuths: Sequence[float]) -> tuple[float, ...]:
        """Irradiance (W/m²) transmitted-equivalent on vertical façades facing ``azimuths`` (° from
        north), the glass incidence-angle modifier applied to the beam."""
        beta, gamma = self.sun(time_ns)
        global_, diffuse, dni = self._horizontal(time_ns, beta)
        if global_ <= 0:
            return tuple(0.0 for _ in azimuths)
        cos_beta = math.cos(math.radians(beta))
        out = []
        for facade in azimuths:
            cos_t = cos_beta * math.cos(math.radians(gamma - facade))
            beam = 0.0
            if cos_t > 0.02:
                beam = dni * cos_t * max(0.0, 1 - IAM_B0 * (1 / cos_t - 1))
            out.append(beam + diffuse / 2 + GROUND_ALBEDO * global_ / 2)
        return tuple(out)
