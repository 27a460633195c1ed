"""Numbers the kernels and the Python around them share: status codes and the slots of a
batch's ``claim`` array.

Plain Python, without numba: the runner reads them on every start, also when the kernel of
plain networks runs as native code loaded without numba (:mod:`.native`). The kernels
(:mod:`.ssa`, :mod:`.continuous`) import them from here, so each is defined once.
"""

from __future__ import annotations

import numpy as np

# Status codes of a trajectory (stochsyn.engine.STATUS_TEXT says what each means).
OK = 0
MAX_EVENTS = 1
NEGATIVE_COUNT = 2
NONFINITE_PROPENSITY = 3
AGENT_CAPACITY = 4
ODE_FAILURE = 5         # the hybrid mode's integration failed (.continuous)
HAZARD_BOUND = 6   # a time-dependent rate above its bound (.hazard.bound_holds): a bug
INTERRUPTED = 7    # the caller asked the run to stop (Ctrl-C, a wall-clock budget)
FLUX_NEGATIVE = 8  # a flux drove an amount below zero (.continuous)

CLAIM_NEXT = 0          # the next row to claim (advanced atomically)
CLAIM_END = 1           # one past the last row
CLAIM_ROWS = 2          # the most rows one claim takes
CLAIM_BUDGET = 3        # work budget of a call alone on the batch (0: none)
CLAIM_ROW_BUDGET = 4    # event budget of a row within that budget
CLAIM_FINISHED = 5      # rows finished (atomic count; :func:`.ssa.wait_for_rows`)
CLAIM_THREADS = 6       # threads sharing the batch: claims shrink towards its end
CLAIM_SLOTS = 8         # (64 bytes)
#: A claim without budget on a shared batch takes at most 1/GUIDED_SHARE of its share
#: of the rows left (and at most ``claim[CLAIM_ROWS]``): guided scheduling.
GUIDED_SHARE = 4


def new_claim(n_rows, rows_per_claim, n_threads=1, budget=0, row_budget=0):
    """The ``claim`` array of a batch of ``n_rows`` rows for
    :func:`stochsyn.engine.ssa.run_trajectories`.

    Parameters
    ----------
    n_rows : int
    rows_per_claim : int
        The most rows a call claims at once (at least 1).
    n_threads : int
        Threads sharing the batch; with more than one, claims without a budget shrink
        towards the end of the batch (:data:`GUIDED_SHARE`).
    budget, row_budget : int
        Work budget (events and samples) of a call alone on the batch (0: none), and the
        event budget of a row within it.

    Returns
    -------
    (CLAIM_SLOTS,) int64 ndarray
    """
    claim = np.zeros(CLAIM_SLOTS, dtype=np.int64)
    claim[CLAIM_END] = n_rows
    claim[CLAIM_ROWS] = rows_per_claim
    claim[CLAIM_BUDGET] = budget
    claim[CLAIM_ROW_BUDGET] = row_budget
    claim[CLAIM_THREADS] = n_threads
    return claim


MASS_ACTION = 0   # the rate kind of mass action (stochsyn.network; .ssa, .hazard)


def is_plain(net):
    """Whether ``net`` runs on :func:`stochsyn.engine.ssa.simulate_plain`: every reaction
    of mass action, and none of agents, complex rules, Michaelis–Menten or Hill laws,
    time-dependent rates, a membrane or spike-triggered pulses (interventions are
    allowed).

    Plain Python on the network's arrays (``Network.arrays``); the kernel compiles this
    same function (``stochsyn.engine.ssa.is_plain``), so both give the same answer."""
    for j in range(len(net.rate_kind)):
        if net.rate_kind[j] != MASS_ACTION or net.cx_type[j] >= 0:
            return False
    return (net.move_ptr[len(net.move_ptr) - 1] == 0 and len(net.type_capacity) == 0
            and net.n_agent_slots[0] == 0 and len(net.law_rx) == 0 and len(net.tv_idx) == 0
            and net.mem_io[0] < 0 and len(net.comp_trigger) == 0)
