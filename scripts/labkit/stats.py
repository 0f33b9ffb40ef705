"""Intervals for shares of samples that are not independent draws.

A sampling profiler's samples of one run are autocorrelated: a program that
stays in one function for a second gives a hundred samples in a row that say
the same thing. We shrink n to an effective sample size n / tau, with tau the
integrated autocorrelation time of the 0/1 series (Geyer's initial monotone
sequence estimator), and use it in a Wilson interval, which is never zero-width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist


def autocorrelation_time(series: Sequence[int] | Sequence[float]) -> float:
    """Integrated autocorrelation time tau >= 1 (1 for independent draws)."""
    import numpy as np  # only here: a third of a second to import, and most commands never come here

    x = np.asarray(series, dtype=float)
    n = x.size
    if n < 4:
        return 1.0
    centred = x - x.mean()
    if not np.any(centred):
        return 1.0  # a constant series carries no information about its own correlation
    spectrum = np.fft.rfft(centred, 2 * n)
    acov = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / n
    rho = acov / acov[0]
    pairs = (n - 1) // 2
    gamma = rho[0 : 2 * pairs : 2] + rho[1 : 2 * pairs + 1 : 2]
    nonpositive = np.flatnonzero(gamma <= 0)
    if nonpositive.size:
        gamma = gamma[: nonpositive[0]]  # Geyer: stop at the first non-positive pair sum
    gamma = np.minimum.accumulate(gamma)  # ... and keep the sequence monotone
    tau = float(-1.0 + 2.0 * gamma.sum()) if gamma.size else 1.0
    return min(max(tau, 1.0), float(n))  # never claim more information than n independent draws


def z_value(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(share: float, n_eff: float, *, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion observed over n_eff effective draws."""
    if n_eff <= 0:
        return (0.0, 1.0)
    z = z_value(confidence)
    z2n = z * z / n_eff
    centre = (share + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(share * (1 - share) / n_eff + z2n / (4 * n_eff)) / (1 + z2n)
    # Rounding can leave 1.0 just outside [low, high] when every draw was a one; the estimate is inside.
    return (max(0.0, min(float(centre - half), share)), min(1.0, max(float(centre + half), share)))


def share_interval(series: Sequence[int], *, confidence: float) -> tuple[float, float, float]:
    """(low, high, tau) for the share of ones in a time-ordered 0/1 series."""
    n = len(series)
    if n == 0:
        return (0.0, 1.0, 1.0)
    tau = autocorrelation_time(series)
    low, high = wilson(sum(series) / n, n / tau, confidence=confidence)
    return (low, high, tau)


def samples_needed(*, share: float, threshold: float, tau: float, confidence: float) -> float:
    """Roughly how many samples make a Wilson interval around ``share`` exclude ``threshold``."""
    gap = abs(share - threshold)
    if gap == 0:
        return float("inf")
    z = z_value(confidence)
    p = min(max(share, 1e-3), 1 - 1e-3)
    return tau * z * z * p * (1 - p) / (gap * gap)
