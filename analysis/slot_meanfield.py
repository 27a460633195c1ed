"""A mean-field estimate of the slot lattice and receptor pools of the default spine under HFS
and 1 Hz × 900 (docs/science.md §8.5 part 2c): which ``k_slot_dp_can`` (calcineurin-gated
slot dephosphorylation, ampar_trafficking_rules.toml) leaves an HFS lattice switched by slot
self-recruitment (K80: ``k_slot_recruit`` 1 /s, K = 80, n = 24) and how far it depresses
during and after an LFS. An estimate for choosing the screen's candidate, not a result: the
spine decides (``analysis/lasting_ltp.py``).

The rate equations are the trafficking rules' (``reactions/spine.toml`` values: k_exo
1/27 min, k_endo 1/10 min, ×3 exocytosis at full CaMKII, ×3 endocytosis of S845-free
receptors at full CaN, k_in 0.1, k_out 0.4, k_trap 1.8/100 per slot, k_untrap 0.01 /s,
k_slot_p 0.2 /s and k_slot_dp 0.1 /s at full activity); the enzymes are prescribed from the
spine's measured courses (docs/science.md §8.5 parts 2b, 2c; `analysis/maintenance_drive.py`):
rest CaMKII 6.5/240 active, free PP1 8/12, CaN·CaM 0.05/96; LFS CaMKII 8.5, CaN 52,
PP1 8.3 for 900 s; HFS CaMKII 200 and CaN 96 for 7 s, then CaMKII at rest, free PP1 10 and
CaN 96·exp(−t/55 s) (V26). S845/S831 (conductance factors) are left out: the weight here is
PSD + trapped receptors over their resting value. The mean field has no CaMKII bursts
(the spine's LFS has peaks of 28–80 active subunits), which is what tips the K80 lattice
in the spine, so it cannot show that failure.

Usage (repository root)::

    python analysis/slot_meanfield.py [--k-can 0,0.05,0.1,0.12,0.15,0.2] [--out out]

Prints, per ``k_slot_dp_can`` and induction, the weight at the end of the train and 5 and
20 min after it, and the lattice Q at 20 min; writes ``slot_meanfield.csv``. Seconds of CPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

REST = (6.5, 0.05, 8.0)          # active PSD CaMKII (of 240), CaN.CaM (of 96), free PP1 (of 12)
LFS_ENZYMES = (8.5, 52.0, 8.3)   # means over the 15-min train (maintenance_drive.py, n = 4)
CAN_TAU_S = 55.0                 # calcineurin's decay after induction at 35 °C (V26)
LFS_S, HFS_S = 900.0, 7.0        # how long the enzymes hold their induction values


def enzymes(t: float, induction: str) -> tuple:
    """(CaMKII, CaN, PP1) at time t (s) from the start of induction (t < 0: rest)."""
    if t < 0:
        return REST
    if induction == "HFS":
        if t <= HFS_S:
            return 200.0, 96.0, 1.0
        return REST[0], 96.0 * np.exp(-(t - HFS_S) / CAN_TAU_S), 10.0
    if t <= LFS_S:
        return LFS_ENZYMES
    return REST[0], LFS_ENZYMES[1] * np.exp(-(t - LFS_S) / CAN_TAU_S), 9.5


def rates(t, y, induction, k_can, k_recruit=1.0, K=80.0, n=24.0):
    """d/dt of (endosomal, extrasynaptic, PSD free, trapped, SLOT, SLOT_p)."""
    endo, extra, psd, trapped, slot, slot_p = y
    camkii, can, pp1 = enzymes(t, induction)
    q = slot_p + trapped
    exo = endo / (27 * 60.0) * (1 + 2 * camkii / 240)
    endocytosis = extra / 600.0 * (1 + 2 * can / 96)
    hop_in, hop_out = 0.1 * extra, 0.4 * psd
    trap, untrap = 0.018 * psd * slot_p, 0.01 * trapped
    phos = slot * (0.2 * camkii / 240 + k_recruit * q ** n / (K ** n + q ** n))
    dephos = slot_p * (0.1 * pp1 / 12 + k_can * can / 96)
    return [endocytosis - exo, exo - endocytosis - hop_in + hop_out,
            hop_in - hop_out - trap + untrap, trap - untrap, dephos - phos,
            phos - dephos + untrap - trap]


def run(k_can: float, induction: str) -> dict:
    """Rest to steady state, then the induction; the read-outs of one (k_can, induction)."""
    rest = solve_ivp(rates, [-20000.0, -1e-9], [50, 20, 5, 45, 50, 5],
                     args=(induction, k_can), method="LSODA", rtol=1e-8)
    y0 = rest.y[:, -1]
    w0 = y0[2] + y0[3]
    end = LFS_S if induction == "LFS" else 1.0
    times = [end, end + 300.0, end + 1200.0]
    out = solve_ivp(rates, [0.0, times[-1]], y0, args=(induction, k_can), method="LSODA",
                    max_step=1.0, t_eval=times, rtol=1e-7)
    w = (out.y[2] + out.y[3]) / w0
    return {"k_slot_dp_can": k_can, "induction": induction, "q_rest": y0[3] + y0[5],
            "w_end_of_train": w[0], "w_5min": w[1], "w_20min": w[2],
            "q_20min": out.y[3][-1] + out.y[5][-1]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k-can", default="0,0.05,0.1,0.12,0.15,0.2")
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    table = pd.DataFrame([run(float(k), induction) for k in args.k_can.split(",")
                          for induction in ("HFS", "LFS")])
    print(table.round(3).to_string(index=False))
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "slot_meanfield.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
