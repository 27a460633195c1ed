"""What the V4 calibration of calcium.toml moves in the default spine model
(reactions/spine.toml): the Ca²⁺ and enzyme signals that plasticity reads, before and after,
same seeds (docs/science.md §8.5 "Ca²⁺ module calibrated to V4").

Usage::

    python analysis/calcium_spine_impact.py [--trajectories 8] [--warm-up 60]
        [--out calcium_spine_impact.csv]

Three variants of reactions/spine.toml, set by parameters so the script gives the same
table on any later version of the files: main before the calibration (immobile buffer
80 µM, slow buffer 40 µM, 15 NMDARs), the Ca²⁺ module alone (62 µM, slow buffer off, 15
NMDARs), and both (62 µM, off, 12 NMDARs: the frozen set). Per variant, on one thread:

* A — one release with Pr = 1 after ``--warm-up`` s of rest: peak free Ca²⁺ (µM) over the
  next 200 ms, sampled every 0.5 ms;
* B — one HFS (stochsyn.protocols.hfs defaults: 100 Hz × 1 s, 2 mV cooperative
  depolarisation, Pr 0.3) after the same rest: over the next 5 s, peak free Ca²⁺, its
  mean over the train, CaN·CaM (of 96) and pT286 (of 240) at 0.5, 1 and 5 s after the
  train's onset, their peaks and their means over the 5 s.

With ``--rest-s T`` (e.g. 600) the script instead runs T s of rest only (seed 20261209,
samples every second) and reports, per variant, the means over the second half of free
Ca²⁺ (µM), pT286 (of 240), CaN·CaM (of 96) and free PP1 (of 12), and the weight
(``ampar_psd_conductance``) at T relative to 60 s (CSV ``--out`` with ``_rest`` added).

Peaks are given both of the ensemble mean ("peak_of_mean") and as the mean of the
per-trajectory peaks ± SE. Seeds: 20261207 (A) and 20261208 (B), fixed before the first
run; the same for every variant. CPU time per variant is in the CSV (HFS ≈ 10–13 s per
trajectory at load ~4). The warm-up is shorter than the 300 s of the plasticity scripts
(cost); the enzymes are then not fully at their resting levels, the same for each variant.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import stochsyn as ss  # noqa: E402

SEED = 20261207
VARIANTS = {
    "main (B 80, Bslow 40, 15 NMDAR)": dict(ca_B_total="80 uM", ca_Bslow_total="40 uM",
                                           n_nmdar=15),
    "Ca module (B 62, Bslow 0, 15 NMDAR)": dict(ca_B_total="62 uM", ca_Bslow_total="0 uM",
                                               n_nmdar=15),
    "Ca module + 12 NMDAR": dict(ca_B_total="62 uM", ca_Bslow_total="0 uM", n_nmdar=12),
}


def grid(t0: float, t1: float, dt: float) -> np.ndarray:
    """Samples every second during the rest, every ``dt`` from t0 to t1."""
    return np.minimum(np.concatenate([np.arange(0.0, t0, 1.0),
                                      np.arange(t0, t1 + dt / 2, dt)]), t1)


def peaks(ens, name: str, from_s: float):
    """(peak of the ensemble mean, mean of per-trajectory peaks, its SE, mean just before)."""
    after = ens.times >= from_s - 1e-9
    values = ens.values(name).astype(float)
    per = values[:, after].max(axis=1)
    before = values[:, ~after][:, -1].mean()
    return (values[:, after].mean(axis=0).max(), per.mean(),
            per.std(ddof=1) / np.sqrt(len(per)), before)


def measure(model, n: int, warm_s: float) -> dict:
    t0 = time.process_time()
    epsp = ss.simulate(model.with_parameters(glu_release_probability=1.0), warm_s + 0.2, n,
                       seed=SEED, sample_times=grid(warm_s, warm_s + 0.2, 0.0005),
                       protocol=ss.protocols.spikes(pre_s=[warm_s]), n_threads=1)
    t1 = time.process_time()
    hfs = ss.simulate(model, warm_s + 5.0, n, seed=SEED + 1,
                      sample_times=grid(warm_s, warm_s + 5.0, 0.0005),
                      protocol=ss.protocols.hfs(start_s=warm_s), n_threads=1)
    t2 = time.process_time()
    row = {"n": n, "warm_s": warm_s,
           "status_ok": bool(np.all(epsp.status == 0) and np.all(hfs.status == 0))}
    for key, ens, name in (("epsp_ca_uM", epsp, "ca_free_uM"), ("hfs_ca_uM", hfs, "ca_free_uM"),
                           ("hfs_can_cam", hfs, "CaN_CaM"), ("hfs_pt286", hfs, "camkii_pt286")):
        of_mean, mean_peak, se, before = peaks(ens, name, warm_s)
        row.update({f"{key}_peak_of_mean": of_mean, f"{key}_mean_peak": mean_peak,
                    f"{key}_se": se, f"{key}_before": before})
    train = (hfs.times >= warm_s - 1e-9) & (hfs.times <= warm_s + 1.0 + 1e-9)
    row["hfs_ca_uM_train_mean"] = hfs.values("ca_free_uM")[:, train].mean()
    for name, key in (("CaN_CaM", "hfs_can_cam"), ("camkii_pt286", "hfs_pt286")):
        values = hfs.values(name).astype(float)
        for t in (0.5, 1.0, 5.0):
            k = int(np.argmin(np.abs(hfs.times - (warm_s + t))))
            row[f"{key}_at_{t:g}s"] = values[:, k].mean()
        row[f"{key}_mean_0_5s"] = values[:, hfs.times >= warm_s - 1e-9].mean()
    row["cpu_epsp_s"], row["cpu_hfs_s"] = t1 - t0, t2 - t1
    return row


def rest(model, n: int, rest_s: float) -> dict:
    t0 = time.process_time()
    ens = ss.simulate(model, rest_s, n, seed=SEED + 2, sample_every=1.0, n_threads=1)
    late = ens.times >= rest_s / 2 - 1e-9
    row = {"n": n, "rest_s": rest_s, "status_ok": bool(np.all(ens.status == 0))}
    for name in ("ca_free_uM", "camkii_pt286", "CaN_CaM", "PP1"):
        per = ens.values(name)[:, late].astype(float).mean(axis=1)
        row[f"{name}_mean_2nd_half"] = per.mean()
        row[f"{name}_se"] = per.std(ddof=1) / np.sqrt(len(per))
    weight = ens.values("ampar_psd_conductance").astype(float)
    ratio = weight[:, -1] / weight[:, int(np.argmin(np.abs(ens.times - 60.0)))]
    row["weight_end_over_60s"] = ratio.mean()
    row["weight_se"] = ratio.std(ddof=1) / np.sqrt(len(ratio))
    row["cpu_s"] = time.process_time() - t0
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--warm-up", type=float, default=60.0)
    parser.add_argument("--out", default="calcium_spine_impact.csv")
    parser.add_argument("--rest-s", type=float, default=0.0,
                        help="run this many seconds of rest only (see the docstring)")
    args = parser.parse_args(argv)
    base = ss.load_model(ROOT / "reactions" / "spine.toml")
    rows = []
    if args.rest_s > 0:
        for label, parameters in VARIANTS.items():
            row = {"variant": label, **rest(base.with_parameters(**parameters),
                                            args.trajectories, args.rest_s)}
            rows.append(row)
            print(f"{label}: rest {args.rest_s:g} s, second half: free Ca "
                  f"{row['ca_free_uM_mean_2nd_half']:.4f} ± {row['ca_free_uM_se']:.4f} uM, "
                  f"pT286 {row['camkii_pt286_mean_2nd_half']:.2f} ± {row['camkii_pt286_se']:.2f}, "
                  f"CaN.CaM {row['CaN_CaM_mean_2nd_half']:.2f} ± {row['CaN_CaM_se']:.2f}, "
                  f"free PP1 {row['PP1_mean_2nd_half']:.2f} ± {row['PP1_se']:.2f}; weight at end / "
                  f"60 s {row['weight_end_over_60s']:.3f} ± {row['weight_se']:.3f}; CPU "
                  f"{row['cpu_s']:.0f} s", flush=True)
        out = Path(args.out)
        write_rows(out.with_name(out.stem + "_rest" + out.suffix), rows)
        return 0
    for label, parameters in VARIANTS.items():
        row = {"variant": label, **measure(base.with_parameters(**parameters),
                                           args.trajectories, args.warm_up)}
        rows.append(row)
        print(f"{label}: EPSP peak {row['epsp_ca_uM_peak_of_mean']:.2f} uM (mean of peaks "
              f"{row['epsp_ca_uM_mean_peak']:.2f} ± {row['epsp_ca_uM_se']:.2f}); HFS peak "
              f"{row['hfs_ca_uM_peak_of_mean']:.2f} uM, train mean "
              f"{row['hfs_ca_uM_train_mean']:.2f} uM; CaN.CaM at 0.5/1/5 s "
              f"{row['hfs_can_cam_at_0.5s']:.1f}/{row['hfs_can_cam_at_1s']:.1f}/"
              f"{row['hfs_can_cam_at_5s']:.1f} of 96; pT286 "
              f"{row['hfs_pt286_at_0.5s']:.1f}/{row['hfs_pt286_at_1s']:.1f}/"
              f"{row['hfs_pt286_at_5s']:.1f} of 240 (peak {row['hfs_pt286_mean_peak']:.1f}); "
              f"CPU {row['cpu_epsp_s'] + row['cpu_hfs_s']:.0f} s", flush=True)
    write_rows(Path(args.out), rows)
    return 0


def write_rows(path: Path, rows: list[dict]) -> None:
    """The rows (one per variant) as a CSV table at ``path``."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
