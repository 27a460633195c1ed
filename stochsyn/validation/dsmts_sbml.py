"""The DSMTS validation run from the suite's original SBML files.

:mod:`stochsyn.validation.dsmts` runs the bundled, pre-digested JSON cases. This module runs
the same test from the files the SBML Test Suite ships for each case ``NNNNN``:

* ``NNNNN-sbml-l3v1.xml``, the model, read with
  :func:`stochsyn.model.sbml.reader.load_sbml` (so the whole SBML importer is exercised:
  compartments, ``hasOnlySubstanceUnits``, local parameters, boundary species, rate laws
  spelt in different ways, events, rules);
* ``NNNNN-settings.txt``, the time grid (``start``, ``duration``, ``steps``), the checked
  ``variables`` and the pass ranges ``meanRange`` / ``sdRange``;
* ``NNNNN-results.csv``, the expected mean and SD per time point (columns ``time``,
  ``X-mean``, ``X-sd``, ...).

The verdict is exactly the one of the JSON cases: :func:`dsmts.evaluate` with the same
rules, the same per-case engine seeds (:func:`dsmts.case_seed`) and the same rerun of a
CHECK (:func:`dsmts.run_with_rerun`), including the kurtosis-corrected Y for case 00003,
whose exact κ₄ :func:`dsmts.case_kappa4` computes from the rate constants read from the SBML.
Checked variables that are assignment-rule outputs (00019's ``y``) are observables of the
imported model and are read through ``Ensemble.values``.

Nothing here knows where the files are: the caller passes the folder (the tests use
``tests/data/dsmts_sbml/``).
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import dsmts
from .dsmts import DEFAULT_SEED, CaseResult

__all__ = ["read_settings", "read_results", "load_case", "run_case", "run_suite",
           "case_files"]


def case_files(case_id: str | int, directory: str | os.PathLike) -> dict[str, Path]:
    """Paths of the model, settings and results files of a case in ``directory``."""
    cid = f"{int(case_id):05d}" if str(case_id).strip().isdigit() else str(case_id)
    directory = Path(directory)
    return {"sbml": directory / f"{cid}-sbml-l3v1.xml",
            "settings": directory / f"{cid}-settings.txt",
            "results": directory / f"{cid}-results.csv"}


def _names(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _range(text: str, key: str, path: Path) -> list[float]:
    inner = text.strip().strip("()[]")
    try:
        lo, hi = (float(v) for v in inner.split(","))
    except ValueError:
        raise ValueError(f"{path}: '{key}' must be a range such as (-3, 3), got {text!r}"
                         ) from None
    return [lo, hi]


def read_settings(path: str | os.PathLike) -> dict:
    """Read a DSMTS ``NNNNN-settings.txt`` file.

    Returns
    -------
    dict
        ``start``, ``duration`` (float), ``steps`` (int), ``variables``, ``amount``,
        ``concentration`` (lists of names), ``mean_range``, ``sd_range`` ([lo, hi]).
    """
    path = Path(path)
    raw = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            raw[key.strip()] = value.strip()
    try:
        settings = {"start": float(raw["start"]), "duration": float(raw["duration"]),
                    "steps": int(raw["steps"]), "variables": _names(raw["variables"]),
                    "amount": _names(raw.get("amount", "")),
                    "concentration": _names(raw.get("concentration", "")),
                    "mean_range": _range(raw["meanRange"], "meanRange", path),
                    "sd_range": _range(raw["sdRange"], "sdRange", path)}
    except KeyError as exc:
        raise ValueError(f"{path}: missing setting {exc.args[0]!r}") from None
    return settings


def read_results(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, dict[str, list]]]:
    """Read a DSMTS ``NNNNN-results.csv`` file.

    Returns
    -------
    times : ndarray
    expected : dict
        ``{name: {"mean": [...], "sd": [...]}}`` from the ``name-mean`` / ``name-sd`` columns.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = [h.strip() for h in rows[0]]
    data = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=float)
    if header[0].lower() != "time":
        raise ValueError(f"{path}: the first column must be 'time', not {header[0]!r}")
    expected: dict[str, dict[str, list]] = {}
    for k, column in enumerate(header[1:], start=1):
        name, _, statistic = column.rpartition("-")
        if statistic not in ("mean", "sd") or not name:
            raise ValueError(f"{path}: unexpected column {column!r} (want NAME-mean, NAME-sd)")
        expected.setdefault(name, {})[statistic] = data[:, k].tolist()
    for name, columns in expected.items():
        if set(columns) != {"mean", "sd"}:
            raise ValueError(f"{path}: {name!r} needs both a -mean and a -sd column")
    return data[:, 0], expected


def load_case(case_id: str | int, directory: str | os.PathLike):
    """Read one case from its SBML, settings and results files.

    Returns
    -------
    case : dict
        In the structure :func:`dsmts.evaluate` reads (case_id, checked_species, times,
        expected, test), plus the species, reactions and events of the imported model
        (so that :func:`dsmts.case_kappa4` can use the SBML's own rate constants).
    model : stochsyn.Model
        The model imported from the SBML file.

    Raises
    ------
    ModelError
        If the SBML model cannot be run exactly (00033–00036).
    """
    from ..model.sbml.reader import load_sbml

    files = case_files(case_id, directory)
    cid = files["sbml"].name[:5]
    settings = read_settings(files["settings"])
    times, expected = read_results(files["results"])
    grid = settings["start"] + settings["duration"] * np.arange(settings["steps"] + 1) \
        / settings["steps"]
    if times.shape != grid.shape or not np.allclose(times, grid, rtol=0, atol=1e-9):
        raise ValueError(f"{files['results']}: the time column does not match the grid of "
                         f"{files['settings'].name}")
    if settings["concentration"]:
        raise ValueError(f"{files['settings']}: checking concentrations "
                         f"({', '.join(settings['concentration'])}) is not supported; "
                         "stochsyn reports amounts")
    missing = [v for v in settings["variables"] if v not in expected]
    if missing:
        raise ValueError(f"{files['results']}: no expected values for {missing}")
    model = load_sbml(files["sbml"])
    known = set(model.species) | set(model.observables)
    unknown = [v for v in settings["variables"] if v not in known]
    if unknown:
        raise ValueError(f"{files['sbml']}: checked variable(s) {unknown} are neither species "
                         "nor observables of the imported model")
    names = model.species
    case = {
        "case_id": cid,
        "family": model.name,
        "checked_species": list(settings["variables"]),
        "times": times.tolist(),
        "expected": {v: expected[v] for v in settings["variables"]},
        "test": {"mean_range": settings["mean_range"], "sd_range": settings["sd_range"]},
        "species": [{"id": n, "initial": int(x)} for n, x in zip(names, model.x0)],
        "reactions": [{"id": r.name,
                       "reactants": {names[i]: nu for i, nu in r.reactants},
                       "products": {names[i]: nu for i, nu in r.products},
                       "rate_constant": r.rate} for r in model.reactions],
        "events": [{"time": iv.time, "label": iv.label} for iv in model.interventions],
    }
    return case, model


def run_case(case_id: str | int, directory: str | os.PathLike,
             n_trajectories: int = 10_000, seed: int = DEFAULT_SEED,
             n_threads: int | None = None) -> CaseResult:
    """Run one case from its SBML files with the DSMTS procedure of :mod:`dsmts`
    (same evaluation, seeds and rerun rule as :func:`dsmts.run_case`)."""
    case, model = load_case(case_id, directory)
    return dsmts.run_with_rerun(
        case, lambda engine_seed: dsmts._simulate(case, n_trajectories, engine_seed,
                                                  n_threads, model=model), seed)


def run_suite(directory: str | os.PathLike, cases=None, n_trajectories: int = 10_000,
              seed: int = DEFAULT_SEED, progress: bool = False,
              n_threads: int | None = None) -> "pandas.DataFrame":  # noqa: F821
    """Run the SBML cases (default: the 35 supported ones found in ``directory``) and return
    the table of :func:`dsmts.run_suite` (printable with :func:`dsmts.format_table`)."""
    import pandas as pd

    directory = Path(directory)
    ids = sorted(p.name[:5] for p in directory.glob("*-sbml-l3v1.xml")) if cases is None \
        else [f"{int(c):05d}" for c in cases]
    if cases is None:
        ids = [c for c in ids if c in dsmts.case_ids()]
    rows = []
    start = time.perf_counter()
    for k, cid in enumerate(ids, 1):
        result = run_case(cid, directory, n_trajectories, seed, n_threads)
        rows.append(dsmts._row(result, load_case_family(cid)))
        if progress:
            print(f"[{k}/{len(ids)}] {cid} {result.verdict:5s} max|Z| {result.max_abs_z:5.2f} "
                  f"max|Y| {result.max_abs_y:5.2f} ({result.seconds:.1f} s)",
                  file=sys.stderr, flush=True)
    df = pd.DataFrame(rows, columns=[*dsmts._COLUMNS, "max|Y| DSMTS", "exact", "rerun",
                                     "result"])
    df.attrs.update(seed=seed, n_trajectories=n_trajectories,
                    seconds=time.perf_counter() - start)
    return df


def load_case_family(case_id: str) -> str:
    """The DSMTS family of a case (birth-death, ...), for tables."""
    try:
        return dsmts.load_case(case_id)["family"]
    except KeyError:
        return "-"
