"""One-off developer tool: build ``stochsyn/data/dsmts/`` from the neutral DSMTS JSON.

This script is **not** used at run time and **not** used by the tests. It was run once to
produce the package data that ``stochsyn.validation.dsmts`` reads through
``importlib.resources``; it is kept so that the data can be regenerated and audited.

Input: the neutral DSMTS JSON files ``NNNNN.json`` of the 35 supported cases in
``../shared/dsmts`` (relative to the repository root; see that folder's README.md). Output:
one compact JSON per case in ``stochsyn/data/dsmts/`` holding only the fields the
validation suite needs, plus ``LICENSE.md`` (attribution and licence of the DSMTS data).
The expected mean/SD arrays are copied unchanged (JSON floats round-trip exactly).

Usage (from the repository root)::

    python tests/data/make_dsmts_package_data.py [SOURCE_DIR] [--out OUT_DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "dsmts"
DEFAULT_OUT = REPO_ROOT / "stochsyn" / "data" / "dsmts"

#: Top-level fields kept, in this order. Fields absent from a case are skipped.
KEEP = (
    "case_id", "dsmts_id", "model_id", "name", "family", "features", "source",
    "species", "reactions", "events", "assignment_rules", "times",
    "checked_species", "expected", "test", "notes",
)
SOURCE_KEEP = ("repository", "commit", "path", "license")
SPECIES_KEEP = ("id", "initial", "boundary", "constant")
REACTION_KEEP = ("id", "reactants", "products", "rate_constant")
EVENT_KEEP = ("id", "time", "assign")

LICENSE_MD = """\
# DSMTS test data: attribution and licence

The files `NNNNN.json` in this folder are derived from the **SBML Discrete Stochastic
Models Test Suite (DSMTS)** by Thomas W. Evans, Colin S. Gillespie and Darren J. Wilkinson,
as distributed with the SBML Test Suite.

If you use these data, please cite the paper of the original authors and name the
test-suite version:

> Evans, T. W., Gillespie, C. S., Wilkinson, D. J. (2008) The SBML discrete stochastic
> models test suite. *Bioinformatics* 24:285–286.

* Source: GitHub repository `{repository}`, commit
  `{commit}`, folder `cases/stochastic/` (per case
  `NNNNN/NNNNN-sbml-l3v1.xml`, `NNNNN/NNNNN-settings.txt`, `NNNNN/NNNNN-results.csv`).
* Cases included: the {n_cases} mass-action DSMTS cases {first}–{last} listed below (00033–00036
  are left out: a state-triggered event, and a rate law that is not mass action).
* What was changed: the SBML models were converted to reactions with effective stochastic
  rate constants (binomial propensity convention), species, timed events and one linear
  assignment rule; the expected means and standard deviations were copied unchanged from
  `NNNNN-results.csv`; only the fields the stochsyn validation suite needs are kept.

## Licence

From the suite's `cases/stochastic/README`, section "License and distribution terms":

> The DSMTS is licensed under the GNU LGPL by the original authors
> (Evans, Gillespie, Wilkinson).
>
> If you use DSMTS, please make sure to cite the paper by the original
> authors:
>
>   Evans, T. W., Gillespie, C. S., Wilkinson, D. J. (2008) The SBML
>   discrete stochastic models test suite, Bioinformatics, 24:285-286.

The SBML Test Suite as a whole is distributed under the GNU Lesser General Public License,
version 2.1 or (at your option) any later version (its `LICENSE.txt`). These data files are
therefore distributed under the GNU LGPL, separately from the licence of the stochsyn code.
The LGPL text is available at <https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html>.

Cases: {case_list}
"""


def compact_case(raw: dict) -> dict:
    out: dict = {}
    for key in KEEP:
        if key not in raw:
            continue
        value = raw[key]
        if key == "source":
            value = {k: value[k] for k in SOURCE_KEEP if k in value}
        elif key == "species":
            value = [{k: s[k] for k in SPECIES_KEEP if k in s} for s in value]
        elif key == "reactions":
            value = [{k: r[k] for k in REACTION_KEEP} for r in value]
        elif key == "events":
            value = [{k: e[k] for k in EVENT_KEEP if k in e} for e in value]
        elif key == "expected":
            value = {name: {"mean": v["mean"], "sd": v["sd"]} for name, v in value.items()}
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    files = sorted(args.source.glob("[0-9][0-9][0-9][0-9][0-9].json"))
    if not files:
        raise SystemExit(f"no NNNNN.json files in {args.source}")
    args.out.mkdir(parents=True, exist_ok=True)
    ids = []
    source = None
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        case = compact_case(raw)
        # sanity: the copy must be exact
        for name, arrays in raw["expected"].items():
            assert case["expected"][name]["mean"] == arrays["mean"]
            assert case["expected"][name]["sd"] == arrays["sd"]
        text = json.dumps(case, separators=(",", ":"), ensure_ascii=False)
        assert json.loads(text) == case
        (args.out / path.name).write_text(text + "\n", encoding="utf-8")
        ids.append(case["case_id"])
        source = source or raw["source"]
    (args.out / "LICENSE.md").write_text(
        LICENSE_MD.format(
            repository=source["repository"], commit=source["commit"], n_cases=len(ids),
            first=ids[0], last=ids[-1], case_list=", ".join(ids),
        ),
        encoding="utf-8",
    )
    print(f"wrote {len(ids)} cases and LICENSE.md to {args.out}")


if __name__ == "__main__":
    main()
