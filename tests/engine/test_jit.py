"""stochsyn.engine.jit.borrowing_njit compiles helpers without reference counting, which is
safe only for helpers that allocate no array and return none: an allocation must not
compile, and no helper compiled that way may return an array (the caller would release a
reference it was never given)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from stochsyn.engine.jit import borrowing_njit

ROOT = Path(__file__).resolve().parents[2]


@borrowing_njit()
def _allocates(n):
    return np.zeros(n).sum()


def test_an_allocating_helper_does_not_compile():
    with pytest.raises(numba.core.errors.TypingError):
        _allocates(3)


_CHECK = """
import numba, sys
from numba.core import types
import stochsyn as ss
from stochsyn.engine import continuous, hazard, membrane, ssa
from stochsyn.validation import calcium_transients as ct

def holds_an_array(ty):
    if isinstance(ty, types.Array):
        return True
    if isinstance(ty, types.BaseTuple):
        return any(holds_an_array(t) for t in ty.types)
    return False

model = ct.exact()
for m in (model, ct.hybrid(model)):
    ss.simulate(m, t_end=0.03, n_trajectories=1, seed=1, protocol=ss.protocols.hfs(),
                n_threads=1)
ss.simulate(sys.argv[1], t_end=1.0, n_trajectories=1, seed=1, n_threads=1)   # agent rings
compiled = set()
for module in (hazard, membrane, continuous, ssa):
    for name in dir(module):
        disp = getattr(module, name)
        if (isinstance(disp, numba.core.registry.CPUDispatcher)
                and disp.__module__ == module.__name__
                and disp.targetoptions.get("_nrt") is False):
            for sig in disp.nopython_signatures:
                compiled.add(name)
                if holds_an_array(sig.return_type):
                    sys.exit(f"{module.__name__}.{name} returns {sig.return_type}")
print(" ".join(sorted(compiled)))
"""


@pytest.mark.slow
def test_no_borrowing_helper_returns_an_array(tmp_path):
    """Compile the exact and the hybrid engine afresh (an empty numba cache, so that every
    helper is compiled in the process and its signature known) on the spine model under
    HFS and on a ring of agents, and look at the return type of every helper compiled
    without reference counting."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    ring = str(ROOT / "reactions" / "examples" / "camkii_ring.toml")
    done = subprocess.run([sys.executable, "-c", _CHECK, ring], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    compiled = set(done.stdout.split())
    assert {"tv_rate_at", "new_interval", "cover", "settle", "anchor", "select_tv",
            "propensity", "tree_select", "_class_refresh", "_list_remove"} <= compiled
    assert len(compiled) >= 25, compiled
