"""The DSMTS validation suite of stochsyn.

The SBML Discrete Stochastic Models Test Suite (DSMTS; T. W. Evans, C. S. Gillespie,
D. J. Wilkinson, *Bioinformatics* 24:285–286, 2008; GNU LGPL) gives, for small stochastic
models, the exact mean and standard deviation of the checked species on the grid
t = 0, 1, ..., 50. The 35 mass-action cases (00001–00032, 00037–00039) are bundled as
package data in ``stochsyn/data/dsmts/`` (see the ``LICENSE.md`` there); nothing outside
the package is read at run time.

Procedure (DSMTS user guide, section 3; project rule from the data README):

* run the model ``n`` times; for every checked name and grid time t with σ_t > 0,
  ``Z_t = sqrt(n) (mean_t − μ_t) / σ_t`` must lie in ``mean_range`` = (−3, 3) and
  ``Y_t = sqrt(n/2) (S_t² / σ_t² − 1)`` in ``sd_range`` = (−5, 5), where
  ``S_t² = (1/n) Σ_i (X_t⁽ⁱ⁾ − μ_t)²`` is the spread around the *expected* mean;
* where σ_t = 0 (t = 0, boundary species, the instant of a timed event) every run must
  equal μ_t exactly;
* **PASS**: at most 1 failing time point for Z and at most 1 for Y (a time point is
  counted once even when several names fail there) and every σ_t = 0 point exact;
  **FAIL**: a σ_t = 0 point wrong, or any |Z_t| ≥ 5, or any |Y_t| ≥ 10;
  otherwise **CHECK**. :func:`run_case` reruns a CHECK once with an independent seed; the
  case passes only if the rerun is a PASS (otherwise its final verdict is FAIL).

Case 00003 (λ = 1, μ = 1.1) is heavy-tailed at large t, and a correct simulator fails the
strict Y test there. For it the verdict uses the kurtosis-corrected
``Y_t = (S_t² − σ_t²) / sqrt((κ₄(t) + 2σ_t⁴) / n)`` with the exact fourth cumulant κ₄ of
the linear birth–death process (:func:`birth_death_cumulants`); the strict DSMTS Y is
reported alongside (``y_dsmts``, ``max_abs_y_dsmts``). For a normal output (κ₄ = 0) both
are the same.

Seeds. Several cases are the same model (00001, 00002, 00008–00010, 00012–00017 and
00019 differ only in how the SBML is written), so running every case with the same engine
seed would give them identical trajectories. :func:`case_seed` therefore derives the
engine seed of each case and attempt from the suite seed with ``numpy.random.SeedSequence``
(entropy = suite seed, spawn key = (case number, attempt)); the rerun after a CHECK is
attempt 1. Different (case, attempt) pairs give different root seeds (collision
probability ~2⁻⁶³), hence random streams that are independent of the first run's. The
engine seed actually used is stored in :attr:`CaseResult.seed`, so any run can be
reproduced with ``stochsyn.simulate(..., seed=result.seed)``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_SEED",
    "KURTOSIS_CORRECTED_CASES",
    "CaseResult",
    "birth_death_cumulants",
    "birth_death_raw_moments",
    "case_ids",
    "case_kappa4",
    "case_model_dict",
    "case_seed",
    "evaluate",
    "format_table",
    "load_case",
    "run_case",
    "run_suite",
    "run_with_rerun",
]

#: Suite seed used by the CLI and the acceptance test.
DEFAULT_SEED = 20260601

#: Cases whose verdict uses the kurtosis-corrected Y (see the module docstring).
KURTOSIS_CORRECTED_CASES = frozenset({"00003"})

#: FAIL thresholds of the project rule.
Z_FAIL = 5.0
Y_FAIL = 10.0

_DATA_PACKAGE = "stochsyn.data"
_DATA_DIR = "dsmts"


# --------------------------------------------------------------------------- data


@lru_cache(maxsize=1)
def _case_files() -> dict[str, Any]:
    root = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR)
    files = {}
    for entry in root.iterdir():
        name = entry.name
        if name.endswith(".json") and name[:-5].isdigit():
            files[name[:-5]] = entry
    return dict(sorted(files.items()))


def case_ids() -> list[str]:
    """The ids ("00001", ...) of the bundled DSMTS cases, sorted."""
    return list(_case_files())


def _normalise_id(case_id: str | int) -> str:
    """Accept 3, "3", "00003" or the DSMTS id "dsmts-001-03"; return "00003"."""
    if isinstance(case_id, int):
        return f"{case_id:05d}"
    text = str(case_id).strip()
    if text.isdigit():
        return text.zfill(5)
    if text.lower().startswith("dsmts-"):
        for cid in _case_files():
            if json.loads(_load_text(cid))["dsmts_id"] == text.lower():
                return cid
    return text


@lru_cache(maxsize=None)
def _load_text(case_id: str) -> str:
    files = _case_files()
    if case_id not in files:
        raise KeyError(
            f"unknown DSMTS case {case_id!r}; bundled cases: {', '.join(files)}"
        )
    return files[case_id].read_text(encoding="utf-8")


def load_case(case_id: str | int) -> dict:
    """The bundled case as a dict (a fresh copy; see ``stochsyn/data/dsmts/``).

    Keys: case_id, dsmts_id, model_id, name, family, features, source, species,
    reactions (id, reactants, products, rate_constant), events (timed-event cases only),
    assignment_rules (00019 only), times, checked_species, expected
    ({name: {"mean": [...], "sd": [...]}}), test, notes (some cases).
    """
    return json.loads(_load_text(_normalise_id(case_id)))


def _as_case(case: Mapping | str | int) -> Mapping:
    return case if isinstance(case, Mapping) else load_case(case)


# --------------------------------------------------------------------- model dict


def _format_coef(c: float | int) -> str:
    if float(c) == int(c):
        return str(int(c))
    return repr(float(c))


def _side(terms: Mapping[str, int]) -> str:
    parts = []
    for species, nu in terms.items():
        if nu == 1:
            parts.append(species)
        else:
            parts.append(f"{_format_coef(nu)} {species}")
    return " + ".join(parts)


def _equation(reactants: Mapping[str, int], products: Mapping[str, int]) -> str:
    left, right = _side(reactants), _side(products)
    return " ".join(p for p in (left, "->", right) if p)


def _linear_expression(combination: Mapping[str, float]) -> str:
    text = ""
    for species, coef in combination.items():
        coef = float(coef)
        sign = "-" if coef < 0 else "+"
        mag = abs(coef)
        term = species if mag == 1 else f"{_format_coef(mag)}*{species}"
        if not text:
            text = f"-{term}" if sign == "-" else term
        else:
            text += f" {sign} {term}"
    return text or "0"


def case_model_dict(case: Mapping | str | int) -> dict:
    """The case as a stochsyn model dict (input of ``stochsyn.Model.from_dict``).

    * species: every species of the case with its initial count; boundary species
      (00006, 00024–00026) are kept as species that no reaction touches;
    * reactions: ``{"name", "equation", "rate"}``; the equation is written from the
      reactant/product counts (``"-> X"``, ``"X ->"``, ``"-> 5 X"``, ``"X -> 2 X"``,
      ``"2 P -> P2"``) and the rate is the effective stochastic constant as a plain
      number, which is ``c`` itself in the engine's binomial convention
      (``a = c · Π C(x_s, ν_s)``, docs/model-format.md) — the DSMTS convention;
    * assignment rules (00019) become observables, e.g. ``{"y": "2*X"}``;
    * timed events become interventions ``{"time": t, "set": {...}}`` (events at the same
      time are merged into one intervention, since they act at once).
    """
    case = _as_case(case)
    species = {s["id"]: int(s["initial"]) for s in case["species"]}
    reactions = []
    for r in case["reactions"]:
        for sp in (*r["reactants"], *r["products"]):
            if sp not in species:
                raise ValueError(f"case {case['case_id']}: reaction {r['id']} uses unknown {sp}")
        reactions.append(
            {
                "name": r["id"],
                "equation": _equation(r["reactants"], r["products"]),
                "rate": float(r["rate_constant"]),
            }
        )
    model: dict[str, Any] = {
        "model": {"name": f"dsmts-{case['case_id']}"},
        "species": species,
        "reactions": reactions,
    }
    rules = case.get("assignment_rules") or []
    if rules:
        observables = {}
        for rule in rules:
            if float(rule.get("offset", 0) or 0) != 0:
                raise NotImplementedError(
                    f"case {case['case_id']}: assignment rule {rule['variable']} has a "
                    "non-zero offset, which stochsyn observables cannot express"
                )
            observables[rule["variable"]] = _linear_expression(rule["linear_combination"])
        model["observables"] = observables
    events = case.get("events") or []
    if events:
        by_time: dict[float, dict[str, int]] = {}
        for ev in sorted(events, key=lambda e: float(e["time"])):
            target = by_time.setdefault(float(ev["time"]), {})
            for sp, value in ev["assign"].items():
                if sp not in species:
                    raise ValueError(f"case {case['case_id']}: event sets unknown {sp}")
                target[sp] = int(value)
        model["interventions"] = [{"time": t, "set": s} for t, s in by_time.items()]
    return model


# ------------------------------------------------------- exact moments (00003)


def birth_death_raw_moments(
    x0: int,
    birth: float,
    death: float,
    times: Iterable[float],
    immigration: float = 0.0,
    order: int = 4,
) -> np.ndarray:
    """Exact raw moments E[X(t)^k], k = 0..order, of the linear birth–death process.

    Reactions ``X -> 2 X`` (rate ``birth``·X), ``X ->`` (``death``·X) and optionally
    ``-> X`` (``immigration``), X(0) = x0. For f(x) = x^k the generator gives

        d/dt E[X^k] = Σ_{j<k} C(k, j) ( (birth + (−1)^{k−j} death) E[X^{j+1}]
                                         + immigration E[X^j] ),

    a closed, upper-triangular linear system m' = A m for m = (1, E[X], ..., E[X^order]),
    solved exactly as m(t) = expm(A t) m(0). Returns an array (len(times), order + 1).
    """
    from scipy.linalg import expm

    size = order + 1
    a = np.zeros((size, size))
    for k in range(1, size):
        for j in range(k):
            c = math.comb(k, j)
            a[k, j + 1] += c * (birth + (-1) ** (k - j) * death)
            a[k, j] += c * immigration
    m0 = np.array([float(x0) ** k for k in range(size)])
    times = np.asarray(list(times), dtype=float)
    return np.array([expm(a * t) @ m0 for t in times])


def birth_death_cumulants(
    x0: int, birth: float, death: float, times: Iterable[float], immigration: float = 0.0
) -> dict[str, np.ndarray]:
    """Mean, variance, κ₃ and κ₄ of the linear birth–death(–immigration) process.

    From the exact raw moments of :func:`birth_death_raw_moments`:
    κ₂ = m₂ − m₁², κ₃ = m₃ − 3m₂m₁ + 2m₁³, κ₄ = m₄ − 4m₃m₁ − 3m₂² + 12m₂m₁² − 6m₁⁴.
    """
    m = birth_death_raw_moments(x0, birth, death, times, immigration, order=4)
    m1, m2, m3, m4 = m[:, 1], m[:, 2], m[:, 3], m[:, 4]
    k2 = m2 - m1**2
    k3 = m3 - 3 * m2 * m1 + 2 * m1**3
    k4 = m4 - 4 * m3 * m1 - 3 * m2**2 + 12 * m2 * m1**2 - 6 * m1**4
    return {"mean": m1, "var": k2, "kappa3": k3, "kappa4": k4}


def _birth_death_parameters(case: Mapping) -> tuple[str, int, float, float]:
    """(species, x0, birth, death) if the case is a pure linear birth–death model."""
    cid = case["case_id"]
    error = ValueError(f"case {cid} is not a linear birth–death model (X -> 2 X, X ->)")
    if case.get("events") or len(case["reactions"]) != 2:
        raise error
    rates: dict[str, float] = {}
    names = set()
    for r in case["reactions"]:
        if len(r["reactants"]) != 1:
            raise error
        ((sp, nu),) = r["reactants"].items()
        if nu != 1:
            raise error
        names.add(sp)
        if dict(r["products"]) == {sp: 2}:
            rates["birth"] = float(r["rate_constant"])
        elif not r["products"]:
            rates["death"] = float(r["rate_constant"])
    if len(names) != 1 or set(rates) != {"birth", "death"}:
        raise error
    (name,) = names
    x0 = next(int(s["initial"]) for s in case["species"] if s["id"] == name)
    return name, x0, rates["birth"], rates["death"]


def _matches_printed(exact: np.ndarray, printed: Iterable[float]) -> bool:
    """Exact values agree with the printed expected values to 1e-6 relative, or to the
    printed precision: the DSMTS files print 00003's mean with 5 decimals (0.67379 at
    t = 50 for the exact 0.6737947), so a difference up to 5e-6 absolute is rounding."""
    printed = np.asarray(list(printed), dtype=float)
    diff = np.abs(np.asarray(exact, dtype=float) - printed)
    return bool(np.all((diff <= 1e-6 * np.abs(printed)) | (diff <= 5e-6)))


def case_kappa4(case: Mapping | str | int) -> dict[str, np.ndarray]:
    """Exact κ₄(t) on the case grid for a linear birth–death case (e.g. 00003).

    Returns ``{species: kappa4 array}``. Also checks that the exact mean and SD
    reproduce the case's expected arrays (:func:`_matches_printed`), so that a
    mis-identified model cannot slip through.
    """
    case = _as_case(case)
    name, x0, birth, death = _birth_death_parameters(case)
    cum = birth_death_cumulants(x0, birth, death, case["times"])
    exp = case["expected"][name]
    sd_exact = np.sqrt(np.maximum(cum["var"], 0.0))
    if not (_matches_printed(cum["mean"], exp["mean"]) and _matches_printed(sd_exact, exp["sd"])):
        raise ValueError(f"case {case['case_id']}: exact moments do not match the expected")
    return {name: cum["kappa4"]}


# ----------------------------------------------------------------- evaluation


@dataclass
class CaseResult:
    """Outcome of the DSMTS test of one case (one simulation run, or final after a rerun).

    Per-point arrays have shape (len(names), len(times)); z, y and y_dsmts are NaN where
    σ_t = 0, ``exact`` is True where σ_t > 0 or where every run equals μ_t, and z_fail /
    y_fail mark the points outside ``mean_range`` / ``sd_range`` (y is the verdict's Y).
    """

    case_id: str
    n: int
    verdict: str  # final verdict: PASS / CHECK / FAIL
    max_abs_z: float
    max_abs_y: float  # of the Y used for the verdict (kurtosis-corrected for 00003)
    n_fail_z: int  # failing time points (counted once over names)
    n_fail_y: int
    exact_ok: bool
    names: tuple[str, ...] = ()
    times: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    mean: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    s2: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    z: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    y: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    y_dsmts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    exact: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool), repr=False)
    z_fail: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool), repr=False)
    y_fail: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool), repr=False)
    max_abs_y_dsmts: float = 0.0  # strict DSMTS Y (equals max_abs_y unless corrected)
    n_fail_y_dsmts: int = 0
    kurtosis_corrected: bool = False
    n_nonfinite: int = 0  # non-finite samples (stopped trajectories); any makes it FAIL
    evaluation_verdict: str = ""  # verdict of this evaluation alone, before any rerun
    seed: int | None = None  # engine seed of this run
    attempt: int = 0  # 0 = first run, 1 = rerun after a CHECK
    seconds: float = float("nan")  # wall time of run_case (all attempts)
    previous: CaseResult | None = field(default=None, repr=False)  # first run if rerun

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"

    def failing_points(self) -> list[tuple[str, float, str, float]]:
        """(name, t, "Z"/"Y"/"exact", value) for every failing point of this evaluation."""
        out = []
        for i, name in enumerate(self.names):
            for j, t in enumerate(self.times):
                if not self.exact[i, j]:
                    out.append((name, float(t), "exact", float("nan")))
                if np.isfinite(self.z[i, j]) and self.z_fail[i, j]:
                    out.append((name, float(t), "Z", float(self.z[i, j])))
                if np.isfinite(self.y[i, j]) and self.y_fail[i, j]:
                    out.append((name, float(t), "Y", float(self.y[i, j])))
        return out

    def report(self) -> str:
        """One line with the verdict, the extreme scores and the failing points (also of a
        first run that was CHECK), for test failures and logs."""
        first = self.previous
        return (f"{self.case_id}: verdict {self.verdict}, max|Z| {self.max_abs_z:.2f}, "
                f"max|Y| {self.max_abs_y:.2f} (strict {self.max_abs_y_dsmts:.2f}), fails Z/Y "
                f"{self.n_fail_z}/{self.n_fail_y}, exact {self.exact_ok}, points "
                f"{self.failing_points()}"
                + (f"; first run {first.evaluation_verdict} {first.failing_points()}"
                   if first else ""))


def _max_abs(a: np.ndarray) -> float:
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0


def _outside(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """True where a is not strictly inside (lo, hi); NaN (σ = 0) never fails here."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(a) & ~((a > lo) & (a < hi))


def evaluate(
    case: Mapping | str | int,
    values: Mapping[str, np.ndarray],
    *,
    kurtosis_correction: bool | None = None,
) -> CaseResult:
    """Apply the DSMTS test to simulated values.

    ``values[name]`` is an array (n_trajectories, n_times) on the case grid for every
    checked name. ``kurtosis_correction`` None (default) applies it to the cases in
    :data:`KURTOSIS_CORRECTED_CASES` only.
    """
    case = _as_case(case)
    case_id = case["case_id"]
    names = tuple(case["checked_species"])
    times = np.asarray(case["times"], dtype=float)
    n_times = times.size
    z_lo, z_hi = (float(v) for v in case["test"]["mean_range"])
    y_lo, y_hi = (float(v) for v in case["test"]["sd_range"])
    if kurtosis_correction is None:
        kurtosis_correction = case_id in KURTOSIS_CORRECTED_CASES
    kappa4 = case_kappa4(case) if kurtosis_correction else {}

    shape = (len(names), n_times)
    mean_out = np.full(shape, np.nan)
    s2_out = np.full(shape, np.nan)
    z = np.full(shape, np.nan)
    y = np.full(shape, np.nan)
    y_dsmts = np.full(shape, np.nan)
    exact = np.ones(shape, dtype=bool)
    n = None
    n_nonfinite = 0
    for i, name in enumerate(names):
        if name not in values:
            raise KeyError(f"case {case_id}: no simulated values for checked name {name!r}")
        x = np.asarray(values[name], dtype=float)
        if x.ndim != 2 or x.shape[1] != n_times:
            raise ValueError(
                f"case {case_id}: values[{name!r}] has shape {x.shape}, expected "
                f"(n_trajectories, {n_times})"
            )
        if n is None:
            n = x.shape[0]
        elif x.shape[0] != n:
            raise ValueError(f"case {case_id}: names have different numbers of trajectories")
        if n < 2:
            raise ValueError(f"case {case_id}: need at least 2 trajectories, got {n}")
        mu = np.asarray(case["expected"][name]["mean"], dtype=float)
        sd = np.asarray(case["expected"][name]["sd"], dtype=float)
        finite = np.isfinite(x)
        if not finite.all():
            # e.g. trajectories that stopped early (NaN samples): such a point is wrong
            n_nonfinite += int((~finite).sum())
            x = np.where(finite, x, np.inf)
        mean = x.mean(axis=0)
        s2 = ((x - mu) ** 2).mean(axis=0)
        mean_out[i], s2_out[i] = mean, s2
        pos = sd > 0
        var = sd**2
        z[i, pos] = math.sqrt(n) * (mean[pos] - mu[pos]) / sd[pos]
        y_dsmts[i, pos] = math.sqrt(n / 2) * (s2[pos] / var[pos] - 1.0)
        if name in kappa4:
            k4 = kappa4[name]
            y[i, pos] = (s2[pos] - var[pos]) / np.sqrt((k4[pos] + 2 * var[pos] ** 2) / n)
        else:
            y[i, pos] = y_dsmts[i, pos]
        zero = ~pos
        exact[i, zero] = np.all(x[:, zero] == mu[zero], axis=0)

    z_fail = _outside(z, z_lo, z_hi)
    y_fail = _outside(y, y_lo, y_hi)
    y_fail_dsmts = _outside(y_dsmts, y_lo, y_hi)
    n_fail_z = int(z_fail.any(axis=0).sum())
    n_fail_y = int(y_fail.any(axis=0).sum())
    exact_ok = bool(exact.all())
    max_z, max_y = _max_abs(z), _max_abs(y)
    if not exact_ok or n_nonfinite or max_z >= Z_FAIL or max_y >= Y_FAIL:
        verdict = "FAIL"
    elif n_fail_z <= 1 and n_fail_y <= 1:
        verdict = "PASS"
    else:
        verdict = "CHECK"
    return CaseResult(
        case_id=case_id,
        n=int(n),
        verdict=verdict,
        max_abs_z=max_z,
        max_abs_y=max_y,
        n_fail_z=n_fail_z,
        n_fail_y=n_fail_y,
        exact_ok=exact_ok,
        names=names,
        times=times,
        mean=mean_out,
        s2=s2_out,
        z=z,
        y=y,
        y_dsmts=y_dsmts,
        exact=exact,
        max_abs_y_dsmts=_max_abs(y_dsmts),
        n_fail_y_dsmts=int(y_fail_dsmts.any(axis=0).sum()),
        kurtosis_corrected=bool(kappa4),
        n_nonfinite=n_nonfinite,
        evaluation_verdict=verdict,
        z_fail=z_fail,
        y_fail=y_fail,
    )


# ------------------------------------------------------------------- running


def case_seed(seed: int, case_id: str | int, attempt: int = 0) -> int:
    """Engine seed for ``case_id`` and ``attempt`` (0 = first run, 1 = rerun), < 2**63.

    ``SeedSequence(entropy=seed, spawn_key=(case number, attempt))`` hashed to 63 bits:
    deterministic, distinct for every (case, attempt), so that identical models in
    different cases and the rerun of a CHECK draw independent random streams.
    """
    number = int(_normalise_id(case_id))
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(number, int(attempt)))
    lo, hi = (int(v) for v in ss.generate_state(2, dtype=np.uint32))
    return ((hi << 32) | lo) & ((1 << 63) - 1)


def _simulate(case: Mapping, n_trajectories: int, seed: int, n_threads: int | None,
              model=None):
    """Simulate ``model`` (default: the case's model dict) on the case grid and return
    ``{checked name: (n_trajectories, n_times) array}``; observables (00019's ``y``) are
    read through ``Ensemble.values`` like species."""
    import stochsyn

    if model is None:
        model = stochsyn.Model.from_dict(case_model_dict(case))
    kwargs: dict[str, Any] = {}
    if n_threads is not None:
        kwargs["n_threads"] = n_threads
    times = np.asarray(case["times"], dtype=float)
    ens = stochsyn.simulate(
        model,
        t_end=float(times[-1]),
        n_trajectories=int(n_trajectories),
        seed=seed,
        sample_times=times,
        **kwargs,
    )
    return {name: np.asarray(ens.values(name), dtype=float) for name in case["checked_species"]}


def run_case(
    case_id: str | int,
    n_trajectories: int = 10_000,
    seed: int = DEFAULT_SEED,
    n_threads: int | None = None,
) -> CaseResult:
    """Simulate one case with stochsyn and apply the DSMTS test.

    The engine seed is ``case_seed(seed, case_id, 0)``. On CHECK the case is rerun once
    with ``case_seed(seed, case_id, 1)``; the returned result is then the rerun's
    evaluation with ``previous`` = the first one and ``verdict`` PASS if the rerun passed,
    else FAIL. ``seconds`` is the wall time of all attempts.
    """
    case = load_case(case_id)
    return run_with_rerun(
        case, lambda engine_seed: _simulate(case, n_trajectories, engine_seed, n_threads),
        seed)


def run_with_rerun(case: Mapping, simulate, seed: int = DEFAULT_SEED) -> CaseResult:
    """The DSMTS procedure for one case: simulate, evaluate, rerun once on CHECK.

    Parameters
    ----------
    case : mapping
        A case in the structure of :func:`load_case` (at least case_id, checked_species,
        times, expected, test; and the reactions for the κ₄ correction of 00003).
    simulate : callable
        ``simulate(engine_seed) -> {name: (n_trajectories, n_times) array}``.
    seed : int
        Suite seed; the engine seeds are ``case_seed(seed, case_id, attempt)``.
    """
    start = time.perf_counter()
    s0 = case_seed(seed, case["case_id"], 0)
    result = evaluate(case, simulate(s0))
    result.seed, result.attempt = s0, 0
    if result.verdict == "CHECK":
        first = result
        s1 = case_seed(seed, case["case_id"], 1)
        result = evaluate(case, simulate(s1))
        result.seed, result.attempt, result.previous = s1, 1, first
        result.verdict = "PASS" if result.evaluation_verdict == "PASS" else "FAIL"
        first.seconds = float("nan")
    result.seconds = time.perf_counter() - start
    return result


_COLUMNS = ["case", "family", "n", "verdict", "max|Z|", "max|Y|", "fails", "seconds"]


def _row(result: CaseResult, family: str) -> dict:
    first = result.previous
    return {
        "case": result.case_id,
        "family": family,
        "n": result.n,
        "verdict": result.verdict,
        "max|Z|": result.max_abs_z,
        "max|Y|": result.max_abs_y,
        "fails": f"{result.n_fail_z}/{result.n_fail_y}",
        "seconds": result.seconds,
        "max|Y| DSMTS": result.max_abs_y_dsmts,
        "exact": result.exact_ok,
        "rerun": (
            ""
            if first is None
            else f"1st: {first.evaluation_verdict} Z{first.n_fail_z}/Y{first.n_fail_y}"
        ),
        "result": result,
    }


def run_suite(
    n_trajectories: int = 10_000,
    seed: int = DEFAULT_SEED,
    cases: Iterable[str | int] | None = None,
    progress: bool = False,
    n_threads: int | None = None,
) -> "pandas.DataFrame":  # noqa: F821
    """Run the DSMTS cases (default: all bundled) and return one row per case.

    Columns: case, family, n, verdict, max|Z|, max|Y|, fails ("Z/Y" failing time points of
    the final evaluation), seconds, then max|Y| DSMTS (strict Y; differs from max|Y| only
    for kurtosis-corrected cases), exact (σ = 0 points), rerun (first-run summary when a
    CHECK was rerun) and result (the :class:`CaseResult`). ``df.attrs`` holds the suite
    seed and the total wall time.
    """
    import pandas as pd

    ids = case_ids() if cases is None else [_normalise_id(c) for c in cases]
    rows = []
    start = time.perf_counter()
    for k, cid in enumerate(ids, 1):
        result = run_case(cid, n_trajectories=n_trajectories, seed=seed, n_threads=n_threads)
        rows.append(_row(result, load_case(cid)["family"]))
        if progress:
            print(
                f"[{k}/{len(ids)}] {cid} {result.verdict:5s} max|Z| {result.max_abs_z:5.2f} "
                f"max|Y| {result.max_abs_y:5.2f} ({result.seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    df = pd.DataFrame(rows, columns=[*_COLUMNS, "max|Y| DSMTS", "exact", "rerun", "result"])
    df.attrs["seed"] = seed
    df.attrs["n_trajectories"] = n_trajectories
    df.attrs["seconds"] = time.perf_counter() - start
    return df


def format_table(df: "pandas.DataFrame") -> str:  # noqa: F821
    """Plain-text table of :func:`run_suite` output, with a summary and footnotes."""
    lines = [
        f"{'case':5s}  {'family':23s} {'n':>7s}  {'verdict':7s} {'max|Z|':>6s} "
        f"{'max|Y|':>6s} {'fails Z/Y':>9s} {'seconds':>8s}  note"
    ]
    lines.append("-" * (len(lines[0]) + 2))
    notes = []
    for _, row in df.iterrows():
        mark = ""
        if "max|Y| DSMTS" in row and not math.isclose(
            float(row["max|Y| DSMTS"]), float(row["max|Y|"]), rel_tol=1e-12, abs_tol=0.0
        ):
            mark = "*"
            notes.append(
                f"* {row['case']}: max|Y| uses the kurtosis-corrected Y (exact κ₄); "
                f"strict DSMTS max|Y| = {float(row['max|Y| DSMTS']):.2f}"
            )
        if str(row.get("rerun", "")):
            mark += "+"
            notes.append(f"+ {row['case']}: rerun with an independent seed ({row['rerun']})")
        if "exact" in row and not bool(row["exact"]):
            mark += "!"
            notes.append(f"! {row['case']}: a σ = 0 point (t = 0, boundary, event) is not exact")
        lines.append(
            f"{row['case']:5s}  {row['family']:23s} {int(row['n']):7d}  "
            f"{row['verdict']:7s} {float(row['max|Z|']):6.2f} "
            f"{float(row['max|Y|']):6.2f} {row['fails']:>9s} "
            f"{float(row['seconds']):8.1f}  {mark}"
        )
    lines.append("-" * (len(lines[0]) + 2))
    counts = df["verdict"].value_counts()
    total = df.attrs.get("seconds", float(df["seconds"].sum()))
    lines.append(
        f"{len(df)} cases: {counts.get('PASS', 0)} PASS, {counts.get('CHECK', 0)} CHECK, "
        f"{counts.get('FAIL', 0)} FAIL; {total:.1f} s"
    )
    lines.append(
        "PASS: <= 1 failing time point for Z (|Z| >= 3) and for Y (|Y| >= 5), σ = 0 points "
        "exact; FAIL: σ = 0 point wrong, |Z| >= 5 or |Y| >= 10; CHECK is rerun once."
    )
    lines.extend(notes)
    lines.append(
        "DSMTS: Evans, Gillespie & Wilkinson, Bioinformatics 24:285-286 (2008), GNU LGPL."
    )
    return "\n".join(lines)
