"""Continuous species (the hybrid mode): their rate equations between events, fluxes, and
the hazard of the discrete reactions that read them.

A species declared continuous (``[continuous] species``, :meth:`stochsyn.Model.with_continuous`)
holds a real amount ``y`` (molecules) instead of a count. :func:`stochsyn.model.hybrid_roles`
sorts the reactions:

* an **ODE term** (every species it reads or writes is continuous, state-dependent law) is a
  term of the rate equations ``dy/dt = Σ_j ν_j a_j(y)``. Its propensity is the real-valued
  mass-action law ``a_j(y) = c_j · Π_s y_s^ν_s / ν_s!`` (times the Michaelis–Menten or Hill
  factor, with the amounts for the counts). For ν = 1 this is the count's own law; for
  ν > 1 it is the deterministic limit of ``c · Π C(x, ν)`` (the rate equation
  ``v = k Π [S]^ν`` in molecules, since ``c = k Ω^(1-n) Π ν!``), and also the mean of
  ``C(x, ν)`` over a Poisson-distributed x of mean y; unlike ``C(y, ν)`` it is never
  negative for 0 < y < ν − 1. A negative amount (a deficit, below) makes a mass-action
  ODE term run backward; the Michaelis–Menten and Hill factors read it as 0;
* a **flux** (a reaction that changes continuous species and leaves every discrete species
  and agent state as it was: Ca²⁺ entry through an open NMDAR, ``NMDAR(O) -> NMDAR(O) +
  Ca``) never fires; it adds ``ν_j · s_j(x) · f_j(u(t)) · Π_{continuous s} y_s^ν_s/ν_s! ·
  L_j`` to ``dy/dt``, with ``s_j = c · Π_{discrete s} C(x_s, ν_s)`` its discrete factor
  (constant between events), ``f_j`` the time factor of its kind (:mod:`.hazard`: 1 for the
  state kinds, ``exp(V/v_scale)``, ``u(t)``, ``max(0, E − V)``, ``GHK(V)``, Boltzmann), evaluated at
  every stage of the integrator along the input u(t) or the membrane voltage (without its
  transient ``R exp(−(t − t_R)/τ_m)`` after a conductance change, τ_m ≈ 1 µs:
  :func:`.membrane.steady_voltage`; resolving it would cost ~3 extra steps per channel
  event for ≈ 5·10⁻³ ions each, of opposite signs at an opening and its closing), and
  ``L_j`` its Michaelis–Menten or Hill factor. The amount it has moved is
  integrated alongside (a hidden ODE variable per flux: ``Ensemble.flux_totals``, the
  counterpart of the exact mode's firings). This replaces one jump per ion by the mean
  entry: the ion-entry (shot) noise is gone, the rest is unchanged;
* a **coupled** reaction (discrete, reads a continuous species) has the propensity
  ``a_j(t) = s_j · Π_{continuous s} y_s(t)^ν_s / ν_s! · L_j(x, y(t))``; it varies along
  y(t) between events, and its next firing is found by the integrated hazard
  (``∫_t^τ a0 = E``; Gauss–Legendre 3-point quadrature and a safeguarded Newton iteration,
  with the time-dependent kinds of :mod:`.hazard` joining the integral while a coupled
  reaction is live), with quadrature steps that never cross an ODE step;
* a discrete reaction that changes a continuous species and also a discrete one (or that
  is opted out of the flux role, ``flux = false``) makes y **jump** by its net change at
  the firing. A jump may leave an amount negative: a **deficit** (next section);
* interventions set or add to a continuous amount (``set``/``add``).

Restarts keep the step size
---------------------------
At a restart the amounts are continuous and only their derivative jumps (a flux switched
on or off, V(t) taking another course), so the integrator does not start afresh from a
first-step estimate (``hinit``, :func:`_initial_step`, used at t = 0 only): the first step
is the controller's proposal from the last step, at most ``_RESTART_GROWTH`` = 2 times the
first step accepted after the previous restart (restarts come in runs of like ones: a
channel's flicker), and a rejected first step may shrink up to 20× at once. Measured on the
spine example (``benchmarks/RESULTS.md``, issue 12, i12d): starting from the proposal
alone, or from the last accepted step, takes 6–10 % fewer accepted steps but 4.8–5.6× as
many rejected ones (a T-type opening's Ca²⁺ transient, ~3 ions against ~3 free, is far
from what the last step saw): 31–47 % more attempts in all at rest; letting steps grow 10×
or 20× instead of 6× changes the count by < 1.5 %. The Jacobian and the inverted stage
matrix are not carried across a restart: J depends on y (the buffers' binding is
bilinear) and y at the restart lies inside the last step, not at its start where J was
evaluated, and Rodas4's order needs the exact Jacobian (a W-method would not).

Linear propagation near a fixed point
-------------------------------------
Between two changes of the right-hand side the continuous part is ``dy/dt = g(y) + b`` with
``b`` constant (the fluxes' discrete factors and V do not change between events). Near
a point y_ref it is nearly linear: ``g(y) = g(y_ref) + J (y − y_ref) + N(y)``, with N the
quadratic remainder, for a bilinear mass-action term ``c·y_a·y_b`` exactly ``c·δa·δb``
(δ = y − y_ref). Without N the solution is known in closed form,
``y(t0 + s) = y_u + V exp(Λs) V⁻¹ (y0 − y_u)``, with ``J = V Λ V⁻¹`` and
``y_u = y_ref − J⁻¹ (g(y_ref) + b)`` the fixed point of the linearised system: one
matrix–vector product and Z exponentials per interval, whatever its length and however
stiff J is. The integrator uses it, instead of Rodas4 steps, for every interval it can
(:func:`_linear`):

* the **error** of the linear solution is, to first order in N,
  ``e(s) = ∫_0^s exp(J(s − σ)) N(y(σ)) dσ``. Along the linear solution δ(σ) is a
  constant plus a sum of exponentials ``exp(λ_m σ)``, so each bilinear remainder is a sum
  of ``exp(μσ)`` with μ ∈ {0, λ_m, λ_m + λ_l}, and e(s) is integrated exactly, mode by
  mode (:func:`_linear_try`). In modal coordinates (δ = V α) the remainder is
  ``(V⁻¹N)_j = Σ Q[j, m, l] α_m α_l`` with a tensor Q of Z³ numbers computed once per
  linearisation (:func:`_remainder_tensor`), so an interval costs the Z exponentials of
  its solution and ~3Z³ multiply-adds (before: ~Z³ per bilinear term and (Z+1)(Z+2)/2·Z
  ``expm1``, 25 exponentials for the solution; both forms agree to 10⁻¹¹ relative,
  ``benchmarks/RESULTS.md``, issue 12, i12g). The solution advances
  with this correction added (local extrapolation, as Rodas4 advances with its order-4
  solution), and the correction's size, ``‖e‖`` in the norm of Rodas4's error control
  (``atol + rtol·max(|y0|, |y1|)``, RMS over the species), must be <= 1: the same local
  error control as a Rodas4 step. What it leaves out is of second order in N (the
  remainder along the true instead of the linear path); measured on the spine example's
  Ca²⁺ module at its resting point (``benchmarks/RESULTS.md``, issue 12, i12e; against
  Radau at 10⁻¹², both in that norm) the error of the corrected solution is 6·10⁻⁴ to
  0.08 of the estimate for 3 to 300 extra free ions relaxing over 4 ms (3 ions: estimate
  8·10⁻⁴, error 4.5·10⁻⁷; 30 ions: 0.049 and 4·10⁻⁴; 300 ions: 3.0, refused, and 0.24);
  at 3000 ions in 1 ms the estimate (63) is no longer an upper bound (error 64), and is
  refused. A transient the
  estimate refuses (an EPSP's Ca²⁺, a train) is integrated by Rodas4 steps as before;
* **J is kept**, with its eigen-decomposition, while the estimate accepts the
  intervals and no jump has changed a conserved total since the linearisation (the
  dependent species were eliminated with the totals at y_ref; :func:`_law_totals_moved`:
  a jump that adds a buffer site makes the next interval linearise afresh): a T-type
  channel's flicker at rest (~3 ions in and out) leaves the state
  near y_ref and costs one interval each. When an interval is refused, J is computed
  again at the current y and the interval tried once more; refused again (estimate
  E > 1), Rodas4 takes it, and **nothing is tried** (neither a propagation nor a new
  linearisation; after a mild refusal, E < ``_MILD_ESTIMATE`` = 10, the kept
  decomposition alone is tried, below) for ``min(ln(E)/2, 1)/|λ_min|``
  (:func:`_lin_wait`): the estimate is
  quadratic in the deviation from the reference point, which decays at least as fast as
  the slowest mode, so that is when the decay alone brings it to 1; a driven transient
  (its fixed point moves with the fluxes) is tried once per slowest time constant.
  Before, every restart and every Rodas4 step of a transient was followed by a try that
  the estimate refused (after a refusal, the try of the next interval with the same J):
  +12–19 % CPU for an EPSP, +13–23 % for HFS with the linear propagation on
  (``benchmarks/RESULTS.md``, issue 12, i12e; the effect of the wait: i12f). A mild
  refusal is a short transient: at the spine example's rest a T-type opening (~31 ions
  against ~3 free Ca²⁺, estimate ~2 for a mean opening; i12g), whose relaxation after the
  closing the estimate accepts long before the slowest mode alone would bring it to 1;
  so during its wait each interval tries the kept decomposition (~1 µs, linearised where
  the refused interval began), and the first accepted ends the wait.
  ``Ensemble.ode_linear``, ``ode_linear_refused`` and ``ode_linear_refreshes`` count the
  intervals propagated, the refusals and the linearisations;
* the **decomposition** (:func:`_eigen`) is computed in the engine (shifted QR iteration,
  eigenvectors by inverse iteration, V⁻¹ by Gauss–Jordan; its cost is not timed
  separately) and used only when every eigenvalue is real, negative and distinct, ``J V =
  V Λ`` holds to 10⁻⁹ relative and ``‖V‖‖V⁻¹‖ < 10⁸``; otherwise (oscillatory or
  defective linearisations) Rodas4 steps;
* it is **used when** (:func:`_linear_able`): every ODE term is mass action of at most
  two reactants of order 1 (the fast terms, ``hy.mt_*``), no discrete reaction reads a
  continuous species (no coupled reaction: nothing needs y between the times asked, so
  an interval ends exactly at the time asked, a sample, an event, and leaves no step
  open), and no flux reads a continuous species or has a Michaelis–Menten or Hill factor;
  per interval, when the forcing does not vary inside it (no pulse or sine on a flux's
  input), no amount is in deficit and none would go below zero (an amount above
  ``−_ZERO_ATOLS · atol`` = −10⁻³ atol counts as 0: a species whose conserved total is 0,
  the spine example's slow buffer, sits at 0 up to a round-off of ~10⁻¹⁷ either side,
  which refused every interval of the example from 04389ec until i12g);
* ``[continuous] linear = false`` (:meth:`stochsyn.Model.with_continuous`, ``linear=False``)
  integrates every interval with Rodas4. The discrete events, their random numbers and
  their times are the same either way; only the continuous amounts differ, within the
  tolerance.

Deficits
--------
A discrete reaction takes whole molecules; a continuous pool may hold less. Calmodulin's
Ca²⁺-loaded states hold ~0.3 molecules at rest in the spine, and CaMKII binding one takes
a whole molecule. The jump is applied in full and the amount goes below zero: the pool
*owes* ``−y`` molecules. (Setting it to 0 instead, as before, created the missing
molecules: +21 % calmodulin in 600 s of the spine model.) A deficit is always smaller than
the reaction's stoichiometry, since a coupled propensity reads ``max(y, 0)`` and never
fires from a non-positive amount. The ODE repays it by the kinetics themselves:

* a mass-action ODE term ``c · Π y_s^ν_s / ν_s!`` is evaluated as ``± c · Π |y_s|^ν_s /
  ν_s!``, with − (the reaction runs backward) when any reactant owes molecules. For one
  reactant of order 1 this is the same linear law, deficit or not. So a state in deficit
  draws molecules back from its neighbours of the same moiety (``C2N0 < 0`` makes
  ``C2N0 -> C1N0 + Ca`` run as ``C1N0 + Ca -> C2N0``), the deficit relaxes at the rates of
  the reactions that make it, and every conservation law holds to round-off (the jump
  changes each total by exactly the reaction's net change);
* a coupled reaction's propensity, a flux, and the Michaelis–Menten and Hill factors read
  ``max(y, 0)``: a pool in deficit fires nothing and does not feed a pump (running a flux
  backward would take molecules from outside the moiety);
* the largest deficit a jump left is kept per trajectory (``Ensemble.continuous_deficit``,
  molecules; the ODE's own round-off below 0, ~``atol``, is not counted).
  ``stochsyn.simulate`` warns (``HybridWarning``) when it reaches
  ``stochsyn.ensemble.DEFICIT_WARN_MOLECULES`` (one molecule): only a reaction of
  stoichiometry > 1 in a pool holding less than one molecule can do that, and such a
  species should be discrete.

When the right-hand side changes
--------------------------------
The ODE is integrated lazily, up to the times at which y is needed (a sample, an event
that changes the right-hand side, a quadrature node of a coupled reaction's hazard), by
whole steps whose dense output serves every time inside them. Its right-hand side
changes only at: a jump; a firing that changes what a flux reads (a channel opens,
closes, blocks, unblocks: its discrete factor, or the discrete modifier of its law); a
conductance change while a voltage-driven flux is live (V(t) takes another course); a
scheduled change (a spike's pulses, a membrane step, an intervention) while a
time-dependent flux is live; and a step of an input a flux reads (the integrator's steps
end there). There :func:`settle` brings y to the event time with the old right-hand side,
and the next step starts there with the new one (a discontinuity is stepped onto, never
over; the count is ``Ensemble.ode_restarts``): before the counts change for a jump or a
count that a flux's law reads (:func:`settle_first`), after them for a flux's discrete
factor, which the right-hand side reads from ``fx_static`` until :func:`fired` compares
and updates it, before the membrane follows a conductance change. Any other event leaves
the current step and its dense output as they are: it costs the ODE nothing.

Integration
-----------
Rodas4 (Hairer & Wanner, *Solving ODEs II*, §VI.4; their ``rodas.f``): a stiffly accurate,
L-stable Rosenbrock method of order 4 with an embedded order-3 estimate, 6 stages, one
Jacobian and one inversion of ``(hγ)⁻¹ I − J`` per step, and a continuous extension of
order 3, so y is known at any time inside the current step::

    y(t0 + θh) = (1 − θ) y0 + θ (y1 + (1 − θ)(d1 + θ d2))

Error control on the embedded estimate (the last stage) of each step::

    ‖err‖ = sqrt(mean_i (err_i / (atol + rtol · max(|y0_i|, |y1_i|)))²) <= 1

over the species (not the flux totals), with ``rtol`` and ``atol`` (molecules) from
``[continuous]`` (default 1e-6 and 1e-6), and Gustafsson's predictive step-size controller
(safety 0.9, new step in [h/5, 6h]; no increase right after a rejection), as in
``rodas.f``. The Jacobian is analytic for the mass-action terms and a forward difference
for the Michaelis–Menten and Hill terms; the time derivative of the time-dependent fluxes
(which Rosenbrock methods need for a non-autonomous right-hand side) is a forward
difference too. The local error of a step is about ``rtol`` relative (or ``atol``
absolute); the global error stays within a small multiple of it for the contractive
(relaxing) systems this is meant for: ``tests/engine/test_continuous.py`` measures
``< 20·(atol + rtol·|y|)`` against scipy's Radau at 1e-12, for linear decay, buffering
and a pump. Steps and dense output preserve linear invariants (conserved totals) up to
round-off. Those invariants are eliminated: :func:`stochsyn.network.conservation_laws`
makes one species per law dependent (the most abundant: buffer and pump totals in a Ca²⁺
module), the integrator solves for the others and the flux totals (``hy.z_idx``: 5
species instead of 9 for the spine example's module, and its 5 flux totals), and the
dependent species follow from the laws. Nothing reads a flux total, so the stage matrix
is block lower-triangular and only its species block is inverted; the totals follow by
substitution (:func:`_invert`, :func:`_solve`).

The helpers a step calls several times (the right-hand side, the solve, the forcing) are
inlined (numba ``inline="always"``): a call passes every array of ``hy`` (50) and
``drive`` as separate arguments, ~350 scalars, which cost more than the arithmetic of a
5-species step. Inlining them cut the CPU time of a simulated minute at rest of the spine
example (with VGCCs) from ~305 to ~213 ms (load 8–9 on 2 cores; ``benchmarks/RESULTS.md``).
For the same reason the step itself, its Jacobian and inversion are inlined into their
callers. :func:`fired` (called by the kernel at every event of the hybrid mode) is not: the
kernel is compiled with numba's reference counting, and inlined there every array it reads
from ``hy`` and ``ctx`` was counted up and down at each event (two atomic operations per
array): ``perf`` put 46 % of the kernel's own time in a resting minute (fluxes at 0, the
discrete part alone) on those two instructions, more than the ~350 scalars a call passes.
The right-hand side is split into ``g(y)``, the ODE terms and the fluxes of the state kinds,
and the forcing ``b(t)`` of the time-dependent fluxes, which read no continuous species:
the forcing is evaluated once per distinct stage time (stages 5 and 6 share t0 + h), and
not at all when its inputs do not vary (no pulse, no sine: V is constant between events
at rest).

Why an implicit method: the spine's Ca²⁺ buffers relax at ``k_on·B + k_off ≈ 2.4·10⁴ /s``
while the slowest mode of its Ca²⁺ module decays at 16 /s. An explicit method (the
Dormand–Prince pair used before) is held by stability to steps of ≈ 0.15 ms however
smooth the solution: 7,300 steps per simulated second at rest. Rodas4's steps follow the
accuracy alone: the relaxation after an EPSP takes ~90 steps at rtol 1e-6 (7,300 with
Dormand–Prince), and once the state has relaxed the steps grow sixfold per step, so a
quiet minute costs a handful of steps ("quiet phases").

A step that fails (non-finite amounts that shorter steps do not cure, a singular matrix
five times, or a step below 1e-14 s relative) ends the trajectory with status
``ODE_FAILURE``; a flux that drives an amount it consumes from above 0 to below
``-FLUX_NEGATIVE_ATOLS · atol`` within one step ends it with ``FLUX_NEGATIVE`` (its
consumption term vanishes at 0, so only an integration error can do that: the tolerance is
too loose for the flux; an amount already in deficit at the step's start is the kinetics'
to repay, not the flux's).

No random numbers are drawn here: the draws per event are those of :mod:`.ssa`. Every
function here uses ``error_model="numpy"`` (a division by zero gives inf, then a rejected
step or ODE_FAILURE, instead of raising) and is compiled by :func:`.jit.borrowing_njit`,
without reference counting.

References
----------
E. Hairer, G. Wanner (1996) Solving Ordinary Differential Equations II, 2nd ed., Springer,
§IV.7 (Rosenbrock methods, RODAS, dense output), §IV.8 (Gustafsson's step-size control).
E. Hairer, S. P. Nørsett, G. Wanner (1993) Solving Ordinary Differential Equations I, 2nd
ed., Springer, §II.4 (``hinit``).
K. Gustafsson (1994) ACM TOMS 20:496-517 (predictive step-size control of implicit methods).
E. L. Haseltine, J. B. Rawlings (2002) J Chem Phys 117:6959 (hybrid SSA/ODE partitioning).
"""

from __future__ import annotations

import math

import numba

from .hazard import (quadrature_step_end, select_tv, set_bases, step_part, time_factor,
                     tv_rate_at)
from .jit import borrowing_njit
from .membrane import pulse_sum, steady_voltage

# Status codes (stochsyn.engine.STATUS_TEXT), defined in .codes.
from .codes import FLUX_NEGATIVE, NEGATIVE_COUNT, ODE_FAILURE, OK  # noqa: E402,F401

MASS_ACTION, VOLTAGE, INPUT, CURRENT, GHK, BOLTZMANN = 0, 1, 2, 3, 4, 5   # stochsyn.network
MICHAELIS_MENTEN, HILL = 6, 7

#: A flux that takes an amount it consumes below this many ``atol`` stops the trajectory
#: (FLUX_NEGATIVE): ten times what one step's error control lets through.
FLUX_NEGATIVE_ATOLS = 10.0

# Rows of the work array ``ws`` (each of length n = Y species + F flux totals): the amounts
# y0 at the start t0 of the current step, y1 at its end, the six stage increments, a stage
# argument, a right-hand side, f(t0, y0), ∂f/∂t at t0, the dense-output coefficients d1 and
# d2, the amounts at the last time asked (:func:`values_at`), two scratch rows (the second
# holds a solve's unknowns, compacted), the pivots of the matrix inversion, the forcing of
# the time-dependent fluxes at the step's distinct stage times (t0, t0 + c2 h, c3 h, c4 h,
# t0 + h) and at t0 + δ (for ∂f/∂t); then n rows for the Jacobian of the integrated
# variables and n rows for the inverted stage matrix (Z <= n of each used): N_ROWS + 2n
# rows in all (allocated by .ssa.run_trajectories).
(Y0, Y1, U1, U2, U3, U4, U5, U6, TMP, FV, F0, FT, D1, D2, YT, AUX, GATH, PIV,
 B0, B1, B2, B3, B4, BD, LAM, YREF, GREF, YU, MODE) = range(29)
N_ROWS = 29
# (The last five: the linear propagation's eigenvalues, reference point y_ref, f(y_ref) with
# the current fluxes, the fixed point y_u of the linearised system, the modal
# coefficients; the eigenvectors V and their inverse take the rows
# N_ROWS + 2n … N_ROWS + 4n: N_MATRICES = 4 matrices of n rows after N_ROWS, then n² rows
# for the modal tensor of the remainder, :func:`_remainder_tensor`; :func:`work_rows`.)
#: Matrices of n × n after the N_ROWS rows of ``ws``: the Jacobian, the inverted stage
#: matrix, and the linear propagation's eigenvectors and their inverse.
N_MATRICES = 4
# Entries of the scalar state ``st``: start and end of the current step (equal: no step),
# the next step size (0: not chosen yet), the last accepted step and its error (predictive
# control), accepted and rejected steps, the largest deficit a jump left (molecules), how many samples
# have their amounts recorded (:func:`cover` records those a step it leaves holds), ODE
# restarts (:func:`settle`), the next step time of an input a flux reads (steps end there),
# the slot a flux drove below zero (FLUX_NEGATIVE), 1 while no step has been taken since
# the last restart, and the first step accepted after the last restart (the next restart's
# first guess).
(T0, T1, HNEXT, HACC, ERRACC, N_STEPS, N_REJECTED, MAX_DEFICIT, SAMPLED, N_RESTARTS,
 T_BARRIER, NEG_SLOT, FRESH, HRESTART, LIN_ABLE, LIN_VALID, LIN_NEXT, LIN_KAPPA, N_LINEAR,
 N_LIN_REFUSED, N_LIN_REFRESH, LIN_MILD) = range(22)
N_SCALARS = 22
# (LIN_*: the linear propagation (section "Linear propagation near a fixed point"): the
# model qualifies, the eigen-decomposition in ws is valid, no refresh before this time,
# ‖V‖∞‖V⁻¹‖∞; and counts of propagations, of refused ones (Rodas4 took over), of
# refreshes of the reference point; 1 while the wait after a refusal lets the kept
# decomposition be tried, :data:`_MILD_ESTIMATE`.)

# Rodas4 (Hairer & Wanner; rodas.f, METH = 1): γ, stage abscissae, the a_ij of the stage
# arguments, the C_ij (divided by h) of the stage equations, the d_i of ∂f/∂t, and the
# dense-output weights.
_GAMMA = 0.25
_C2, _C3, _C4 = 0.386, 0.21, 0.63
_A21 = 1.544
_A31, _A32 = 0.9466785280815826, 0.2557011698983284
_A41, _A42, _A43 = 3.314825187068521, 2.896124015972201, 0.9986419139977817
_A51, _A52, _A53, _A54 = (1.221224509226641, 6.019134481288629, 12.53708332932087,
                          -0.6878860361058950)
_C21 = -5.6688
_C31, _C32 = -2.430093356833875, -0.2063599157091915
_C41, _C42, _C43 = -0.1073529058151375, -9.594562251023355, -20.47028614809616
_C51, _C52, _C53, _C54 = (7.496443313967647, -10.24680431464352, -33.99990352819905,
                          11.70890893206160)
_C61, _C62, _C63, _C64, _C65 = (8.083246795921522, -7.981132988064893, -31.52159432874371,
                                16.31930543123136, -6.058818238834054)
_D1, _D2, _D3, _D4 = 0.25, -0.1043, 0.1035, -0.0362
_H21, _H22, _H23, _H24, _H25 = (10.12623508344586, -7.487995877610167, -34.80091861555747,
                                -7.992771707568823, 1.025137723295662)
_H31, _H32, _H33, _H34, _H35 = (-0.6762803392801253, 6.087714651680015, 16.43084320892478,
                                24.76722511418386, -6.594389125716872)

_SAFETY = 0.9
_FAC_SHRINK = 5.0       # a step shrinks at most 5x …
_FAC_GROW = 6.0         # … and grows at most 6x (rodas.f WORK(3), WORK(4))
#: After a restart, the first step is at most this many times the first step accepted
#: after the previous restart (restarts come in runs of like ones: a channel's flicker),
#: and a rejected first step may shrink up to _FAC_SHRINK_FRESH times.
_RESTART_GROWTH = 2.0
_FAC_SHRINK_FRESH = 20.0
_EPS = 2.220446049250313e-16

#: The linear propagation counts an amount above ``-_ZERO_ATOLS · atol`` as 0, not as a
#: deficit: the round-off of a species whose conserved total is 0 (the spine example's
#: slow buffer since its total went to 0 µM) is ~10⁻¹⁷ molecules either side of 0, and
#: refusing it refused every interval (module docstring, "Linear propagation near a fixed
#: point"); a thousandth of atol changes no term by more than a thousandth of the
#: tolerance.
_ZERO_ATOLS = 1e-3
#: A refusal whose estimate is below this is mild (a short transient: at the spine example's
#: rest a T-type opening, ~31 ions against ~3 free, estimate ~2 for a mean opening): during
#: the wait that follows (:func:`_lin_wait`) each interval still tries the kept
#: decomposition (~1 µs, no re-linearisation), since the relaxation after the transient's
#: end is accepted long before the slowest mode alone would bring the estimate to 1. The
#: estimate is quadratic in the deviation, so below 10 the deviation is within √10 of what
#: the tolerance allows; an EPSP's or a train's refusals (estimates of 10²–10⁴) wait as
#: before.
_MILD_ESTIMATE = 10.0

_GL_X = math.sqrt(3.0 / 5.0)
_GL_W_OUTER = 5.0 / 9.0
_GL_W_MID = 8.0 / 9.0


#: The longest step (s): a state at rest lets the step grow sixfold per step, and each
#: restart would grow it further without a bound.
H_MAX = 1e4


# ----------------------------------------------------------------- right-hand side

@numba.njit(cache=True, inline="always", error_model="numpy")
def _power(y, nu):
    """``max(y, 0)^ν / ν!``: a real amount's mass-action factor (module docstring)."""
    v = y if y > 0.0 else 0.0
    if nu == 1:
        return v
    b = 1.0
    for k in range(nu):
        b = b * v / (k + 1)
    return b


@numba.njit(cache=True, inline="always", error_model="numpy")
def _dpower(y, nu):
    """``d/dy`` of :func:`_power` (its right derivative at 0)."""
    if y < 0.0:
        return 0.0
    if nu == 1:
        return 1.0
    b = 1.0
    for k in range(nu - 1):
        b = b * y / (k + 1)
    return b


@numba.njit(cache=True, inline="always", error_model="numpy")
def _signed_product(a, y, nu, negative):
    """One reactant factor of a mass-action ODE term that reads deficits (module docstring,
    "Deficits"): ``a · |y|^ν / ν!``, and whether any factor so far was negative."""
    if y < 0.0:
        return a * _power(-y, nu), True
    return a * _power(y, nu), negative


@numba.njit(cache=True, inline="always", error_model="numpy")
def _law(hy, j, kind, x, ws, row):
    """The Michaelis–Menten or Hill factor of reaction ``j`` (``kind``), reading each
    modifier and substrate state from ``ws[row]`` if continuous (negative as 0), else
    from ``x``; the forms of :func:`.ssa.law_factor`."""
    cont_slot = hy.cont_slot
    law_ptr, law_idx, law_w, sat_ptr, sat_idx, law_k, law_n = (hy.law_ptr, hy.law_idx, hy.law_w,
                                                               hy.sat_ptr, hy.sat_idx, hy.law_k, hy.law_n)
    m = 0.0
    for p in range(law_ptr[j], law_ptr[j + 1]):
        i = law_idx[p]
        q = cont_slot[i]
        m = m + law_w[p] * (x[i] if q < 0 else max(ws[row, q], 0.0))
    if kind == MICHAELIS_MENTEN:
        if law_ptr[j + 1] == law_ptr[j]:
            m = 1.0
        s = 0.0
        for p in range(sat_ptr[j], sat_ptr[j + 1]):
            i = sat_idx[p]
            q = cont_slot[i]
            s += x[i] if q < 0 else max(ws[row, q], 0.0)
        return m / (law_k[j] + s)
    if kind == HILL:
        if m <= 0.0:
            return 0.0
        return 1.0 / (1.0 + (law_k[j] / m) ** law_n[j])
    return 1.0 / (1.0 + (m / law_k[j]) ** law_n[j])


@numba.njit(cache=True, inline="always", error_model="numpy")
def _rhs_mass(code, rate, ws, row, out):
    """Add ``Σ_j ν_j a_j(ws[row])`` over the mass-action ODE terms of the generic ``code``
    (those with more than two reactant species: j, n, n × (slot, order), m, m × (slot,
    net change)) to ``ws[out]`` (molecules/s); a term with a reactant in deficit runs
    backward (module docstring, "Deficits")."""
    p = 0
    while p < len(code):
        a = rate[code[p]]
        n = code[p + 1]
        p += 2
        negative = False
        for _ in range(n):
            a, negative = _signed_product(a, ws[row, code[p]], code[p + 1], negative)
            p += 2
        if negative:                 # a reactant owes molecules: the term runs backward
            a = -a
        n = code[p]
        p += 1
        for _ in range(n):
            ws[out, code[p]] += code[p + 1] * a
            p += 2


@numba.njit(cache=True, inline="always", error_model="numpy")
def _fast_mass(hy, rate, ws, row, out):
    """Add the mass-action ODE terms of at most two reactants of order 1 (``hy.mt_*``: the
    usual ones, laid out for speed) to ``ws[out]``, at the integrated variables only: the
    dependent species' entries are never read (:func:`_solve` derives their increments
    from the conservation laws), so the terms do not write them."""
    mt_rx, mt_a, mt_b = hy.mt_rx, hy.mt_a, hy.mt_b
    mt_ptr, mt_slot, mt_val = hy.mt_ptr, hy.mt_slot, hy.mt_val
    for k in range(len(mt_rx)):
        a = rate[mt_rx[k]]
        s = mt_a[k]
        if s >= 0:
            a = a * ws[row, s]
            s = mt_b[k]
            if s >= 0:
                y = ws[row, s]
                # -c·|ya|·|yb| when either owes molecules (module docstring, "Deficits")
                a = a * y if a >= 0.0 or y >= 0.0 else -a * y
        for p in range(mt_ptr[k], mt_ptr[k + 1]):
            ws[out, mt_slot[p]] += mt_val[p] * a


@borrowing_njit(error_model="numpy")
def _rhs_laws(hy, rate, x, ws, row, out):
    """Add the Michaelis–Menten and Hill ODE terms to ``ws[out]``."""
    code = hy.ode_law_code
    p = 0
    while p < len(code):
        j = code[p]
        kind = code[p + 1]
        a = rate[j]
        n = code[p + 2]
        p += 3
        for _ in range(n):
            a *= _power(ws[row, code[p]], code[p + 1])
            p += 2
        a *= _law(hy, j, kind, x, ws, row)
        n = code[p]
        p += 1
        for _ in range(n):
            ws[out, code[p]] += code[p + 1] * a
            p += 2


@numba.njit(cache=True, inline="always", error_model="numpy")
def flux_input(drive, mem, pulse, base, i, t, t_ref):
    """Input ``i`` at ``t`` as a flux reads it: for the membrane's voltage input the
    voltage without its µs transient (:func:`.membrane.steady_voltage`, module docstring),
    else the input's value, its step part as at ``t_ref`` (the start of the integrator's
    step, which never crosses a step time, see :func:`_barrier`), its sine and its
    pulses."""
    if i == drive[13][0]:
        return steady_voltage(drive, mem, pulse, base, t)
    u = drive[3][i] + step_part(drive, i, t_ref)
    if drive[4][i] != 0.0:
        u += drive[4][i] * math.sin(drive[5][i] * t + drive[6][i])
    if drive[10][i + 1] > drive[10][i]:
        u += pulse_sum(drive, pulse, i, t)
    return u


@numba.njit(cache=True, inline="always", error_model="numpy")
def _add_flux(fx_code, p, ws, out, a, total):
    """Add flux rate ``a`` times each net change (``fx_code[p]``: k, k × (slot, change)) to
    ``ws[out]``, and ``a`` to its total's column ``total``."""
    n = fx_code[p]
    p += 1
    for _ in range(n):
        ws[out, fx_code[p]] += fx_code[p + 1] * a
        p += 2
    ws[out, total] += a


@borrowing_njit(error_model="numpy")
def _state_fluxes(hy, ctx, ws, row, out, laws_only):
    """Add the fluxes of the state kinds (mass action, Michaelis–Menten, Hill: they may
    read continuous species, never the time) at the amounts ``ws[row]`` to ``ws[out]``:
    to the species they change and to their own totals (column Y + q). ``laws_only``:
    only those with a Michaelis–Menten or Hill factor."""
    rate, x, fx_static = ctx[0], ctx[1], ctx[2]
    fx_ptr, fx_code = hy.fx_ptr, hy.fx_code
    n_y = len(hy.cont_idx)
    for q in range(len(fx_static)):
        a = fx_static[q]
        p = fx_ptr[q]
        kind = fx_code[p + 1]
        if a <= 0.0 or (kind >= VOLTAGE and kind <= BOLTZMANN) \
                or (laws_only and kind < MICHAELIS_MENTEN):
            continue
        j = fx_code[p]
        p += 3 + 2 * fx_code[p + 2]      # past the discrete reactants (in fx_static)
        n = fx_code[p]
        p += 1
        for _ in range(n):
            a *= _power(ws[row, fx_code[p]], fx_code[p + 1])
            p += 2
        if kind >= MICHAELIS_MENTEN:
            a *= _law(hy, j, kind, x, ws, row)
        _add_flux(fx_code, p, ws, out, a, n_y + q)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _state_rhs(hy, ctx, ws, row, out):
    """``ws[out] = g(ws[row])``: the ODE terms and the state-kind fluxes (molecules/s),
    the part of f that reads y."""
    for q in range(ws.shape[1]):
        ws[out, q] = 0.0
    rate = ctx[0]
    _fast_mass(hy, rate, ws, row, out)
    if len(hy.ode_code):
        _rhs_mass(hy.ode_code, rate, ws, row, out)
    if len(hy.ode_law_code):
        _rhs_laws(hy, rate, ctx[1], ws, row, out)
    if hy.fx_state[0]:
        _state_fluxes(hy, ctx, ws, row, out, False)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _forcing(hy, drive, ctx, ws, t, t_ref, out):
    """``ws[out] = b(t)``: the time-dependent fluxes (they read no continuous species) at
    ``t``, to the species they change and to their totals (molecules/s)."""
    fx_static, mem, pulse, base = ctx[2], ctx[3], ctx[4], ctx[5]
    fx_ptr, fx_code, fx_input = hy.fx_ptr, hy.fx_code, hy.fx_input
    n_y = len(hy.cont_idx)
    for q in range(ws.shape[1]):
        ws[out, q] = 0.0
    for q in range(len(fx_static)):
        a = fx_static[q]
        p = fx_ptr[q]
        kind = fx_code[p + 1]
        if a <= 0.0 or kind < VOLTAGE or kind > BOLTZMANN:
            continue
        a *= time_factor(kind, flux_input(drive, mem, pulse, base, fx_input[q], t, t_ref),
                         drive[2][fx_code[p]], drive[18][fx_code[p]])
        p += 3 + 2 * fx_code[p + 2]
        p += 1 + 2 * fx_code[p]          # (a time-dependent flux has no continuous reactant)
        _add_flux(fx_code, p, ws, out, a, n_y + q)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _forcing_state(hy, drive, ctx, t0):
    """(a time-dependent flux is live, the inputs of the live ones vary in time from
    ``t0`` on): with neither a sine nor a pulse on them (the dendrite's, for the membrane
    voltage, which then is constant between events) the forcing is constant between
    events."""
    fx_static, pulse = ctx[2], ctx[4]
    fx_ptr, fx_code, fx_input = hy.fx_ptr, hy.fx_code, hy.fx_input
    comp_ptr = drive[10]
    live = False
    varies = False
    for q in range(len(fx_static)):
        kind = fx_code[fx_ptr[q] + 1]
        if fx_static[q] <= 0.0 or kind < VOLTAGE or kind > BOLTZMANN:
            continue
        live = True
        i = fx_input[q]
        if i == drive[13][0]:
            i = drive[13][1]       # the steady voltage varies with the dendrite only
            if i < 0:
                continue
        if drive[4][i] != 0.0:
            varies = True
        for c in range(comp_ptr[i], comp_ptr[i + 1]):
            if (pulse[0, c] != 0.0 or pulse[1, c] != 0.0) and pulse[3, c] > t0:
                varies = True       # (a component dropped after t0 still acts before)
    return live, varies


@numba.njit(cache=True, inline="always", error_model="numpy")
def _add_partial(hy, ws, r, s, v):
    """Add ``v = ∂f_r/∂y_s`` to the Jacobian of the integrated variables (rows from N_ROWS):
    nothing for a dependent r (it is not integrated); through ``∂y_s/∂y_c = −coef`` for a
    dependent s."""
    i = hy.zpos[r]
    if i < 0 or v == 0.0:
        return
    k = hy.zpos[s]
    if k >= 0:
        ws[N_ROWS + i, k] += v
        return
    d = hy.depof[s]
    for p in range(hy.dep_ptr[d], hy.dep_ptr[d + 1]):
        ws[N_ROWS + i, hy.dep_col[p]] -= v * hy.dep_coef[p]


@borrowing_njit(error_model="numpy")
def _mass_partials(hy, code, c, ws, p, extra, signed):
    """Add the partial derivatives at ws[Y0] of one mass-action term (``c`` times the
    reactant factors at ``code[p] …``: n, n × (slot, order), m, m × (slot, change)),
    to the Jacobian; ``extra`` >= 0 also adds them to that row (a flux's total).
    ``signed``: the term reads deficits (an ODE term, :func:`_rhs_mass`), else negative
    amounts as 0 (a flux). Returns the position after the term."""
    n = code[p]
    first = p + 1
    after = first + 2 * n
    m = code[after]
    backward = False
    if signed:
        for i in range(n):
            if ws[Y0, code[first + 2 * i]] < 0.0:
                backward = True
    for k in range(n):
        s = code[first + 2 * k]
        y = ws[Y0, s]
        if signed:
            # d/dy of ±c·|y|^ν/ν!·(others): the sign of y, and - when the term runs backward
            d = c * _dpower(abs(y), code[first + 2 * k + 1])
            if (y < 0.0) != backward:
                d = -d
        else:
            d = c * _dpower(y, code[first + 2 * k + 1])
        if d == 0.0:
            continue
        for i in range(n):
            if i != k:
                y = ws[Y0, code[first + 2 * i]]
                d *= _power(abs(y) if signed else y, code[first + 2 * i + 1])
        for r in range(m):
            _add_partial(hy, ws, code[after + 1 + 2 * r], s, code[after + 2 + 2 * r] * d)
        if extra >= 0:
            _add_partial(hy, ws, extra, s, d)
    return after + 1 + 2 * m


@borrowing_njit(error_model="numpy")
def _law_part(hy, ctx, ws, row, out):
    """``ws[out]`` = the Michaelis–Menten and Hill terms (ODE terms and fluxes) at
    ``ws[row]``."""
    for q in range(ws.shape[1]):
        ws[out, q] = 0.0
    if len(hy.ode_law_code):
        _rhs_laws(hy, ctx[0], ctx[1], ws, row, out)
    if hy.fx_state[0]:
        _state_fluxes(hy, ctx, ws, row, out, True)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _jacobian(hy, ctx, ws):
    """``∂g/∂y`` at ws[Y0] for the integrated variables (:func:`_add_partial`) into the
    Jacobian rows: analytic for the mass-action terms, forward differences for the
    Michaelis–Menten and Hill terms (the forcing reads no continuous species)."""
    rate, fx_static = ctx[0], ctx[2]
    n_z = len(hy.z_idx)
    for i in range(n_z):
        for k in range(n_z):
            ws[N_ROWS + i, k] = 0.0
    mt_rx, mt_a, mt_b = hy.mt_rx, hy.mt_a, hy.mt_b
    jt_ptr, jt_row, jt_col, jt_val = hy.jt_ptr, hy.jt_row, hy.jt_col, hy.jt_val
    for k in range(len(mt_rx)):
        sa = mt_a[k]
        if sa < 0:
            continue
        c = rate[mt_rx[k]]
        sb = mt_b[k]
        if sb >= 0:
            # a = ±c·|ya|·|yb| (- when either owes molecules: module docstring, "Deficits")
            ya, yb = ws[Y0, sa], ws[Y0, sb]
            da = c * abs(yb)
            db = c * abs(ya)
            if ya < 0.0:
                da = -da
            if yb < 0.0:
                db = -db
            if ya < 0.0 or yb < 0.0:
                da = -da
                db = -db
        else:
            da = c           # linear in the amount, deficit or not
            db = 0.0
        for p in range(jt_ptr[2 * k], jt_ptr[2 * k + 1]):
            ws[N_ROWS + jt_row[p], jt_col[p]] += jt_val[p] * da
        for p in range(jt_ptr[2 * k + 1], jt_ptr[2 * k + 2]):
            ws[N_ROWS + jt_row[p], jt_col[p]] += jt_val[p] * db
    code = hy.ode_code
    p = 0
    while p < len(code):
        p = _mass_partials(hy, code, rate[code[p]], ws, p + 1, -1, True)
    n_y = len(hy.cont_idx)
    fx_ptr, fx_code = hy.fx_ptr, hy.fx_code
    for q in range(len(fx_static)):
        p = fx_ptr[q]
        after = p + 3 + 2 * fx_code[p + 2]     # the continuous reactants
        if fx_static[q] > 0.0 and fx_code[p + 1] == MASS_ACTION and fx_code[after] > 0:
            _mass_partials(hy, fx_code, fx_static[q], ws, after, n_y + q, False)
    slots = hy.law_slots
    if len(slots) == 0:
        return
    n = ws.shape[1]
    _law_part(hy, ctx, ws, Y0, AUX)
    for k in range(len(slots)):
        s = slots[k]
        y = ws[Y0, s]
        ws[Y0, s] = y + math.sqrt(_EPS * max(1e-5, abs(y)))
        delta = ws[Y0, s] - y
        _law_part(hy, ctx, ws, Y0, FV)
        ws[Y0, s] = y
        for r in range(n):
            _add_partial(hy, ws, r, s, (ws[FV, r] - ws[AUX, r]) / delta)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _n_species_z(hy, ws):
    """How many of the integrated variables are species: ``hy.z_idx`` lists the
    independent species first, then the F flux totals (columns Y … Y + F − 1)."""
    return len(hy.z_idx) - (ws.shape[1] - len(hy.cont_idx))


# ----------------------------------------------------------------- linear algebra

@numba.njit(cache=True, inline="always", error_model="numpy")
def _invert(hy, ws, fac):
    """The inverse of ``fac·I − J_z`` (J_z the Jacobian of the integrated variables,
    ``hy.z_idx``: the species the conservation laws leave independent, and the flux
    totals) into the matrix rows, by Gauss–Jordan elimination with partial pivoting.
    Returns False if the matrix is singular.

    (For the few integrated variables of a Ca²⁺ module, Z ≈ 6, an inversion and six
    matrix–vector products per step cost half of an LU decomposition and six triangular
    solves, whose divisions and dependent sums dominate at that size.)

    Only the species' block is inverted: nothing reads a flux total, so the totals'
    columns of J are zero and the matrix is block lower-triangular, ``[[fac·I − J_yy, 0],
    [−J_ty, fac·I]]``; :func:`_solve` finds the totals' increments by substitution. (The
    spine example's five fluxes made Z = 10 of which 5 species: an inversion of a 5 × 5
    instead of a 10 × 10 matrix, ~8× fewer operations.)"""
    n = _n_species_z(hy, ws)
    jac = N_ROWS
    mat = N_ROWS + ws.shape[1]
    for i in range(n):
        for k in range(n):
            ws[mat + i, k] = -ws[jac + i, k]
        ws[mat + i, i] += fac
    for k in range(n):
        pivot = k
        biggest = abs(ws[mat + k, k])
        for i in range(k + 1, n):
            if abs(ws[mat + i, k]) > biggest:
                biggest = abs(ws[mat + i, k])
                pivot = i
        ws[PIV, k] = pivot
        if not biggest > 0.0 or biggest == math.inf:
            return False
        if pivot != k:
            for c in range(n):
                v = ws[mat + k, c]
                ws[mat + k, c] = ws[mat + pivot, c]
                ws[mat + pivot, c] = v
        inverse = 1.0 / ws[mat + k, k]
        ws[mat + k, k] = 1.0
        for c in range(n):
            ws[mat + k, c] *= inverse
        for i in range(n):
            if i != k:
                factor = ws[mat + i, k]
                if factor != 0.0:
                    ws[mat + i, k] = 0.0
                    for c in range(n):
                        ws[mat + i, c] -= factor * ws[mat + k, c]
    for k in range(n - 1, -1, -1):      # the row interchanges, undone on the columns
        pivot = int(ws[PIV, k])
        if pivot != k:
            for i in range(n):
                v = ws[mat + i, k]
                ws[mat + i, k] = ws[mat + i, pivot]
                ws[mat + i, pivot] = v
    return True


@numba.njit(cache=True, inline="always", error_model="numpy")
def _solve(hy, ws, row, fac):
    """Solve (fac·I − J_z) u = ws[row] for the integrated variables in place: the species
    with the inverse of :func:`_invert`, then the flux totals by substitution
    (``u_t = (r_t + Σ_k J_tk u_k) / fac``: no total is read by anything); and set the
    dependent species' increments (``u_d = −Σ_c coef · u_c``: the step keeps the conserved
    totals)."""
    z_idx = hy.z_idx
    n = _n_species_z(hy, ws)
    mat = N_ROWS + ws.shape[1]
    for k in range(n):
        ws[GATH, k] = ws[row, z_idx[k]]
    for i in range(n):
        acc = 0.0
        for k in range(n):
            acc += ws[mat + i, k] * ws[GATH, k]
        ws[row, z_idx[i]] = acc
    inverse = 1.0 / fac
    for i in range(n, len(z_idx)):
        acc = ws[row, z_idx[i]]
        for k in range(n):
            acc += ws[N_ROWS + i, k] * ws[row, z_idx[k]]
        ws[row, z_idx[i]] = acc * inverse
    dep_slot, dep_ptr, dep_col, dep_coef = hy.dep_slot, hy.dep_ptr, hy.dep_col, hy.dep_coef
    for d in range(len(dep_slot)):
        acc = 0.0
        for p in range(dep_ptr[d], dep_ptr[d + 1]):
            acc -= dep_coef[p] * ws[row, z_idx[dep_col[p]]]
        ws[row, dep_slot[d]] = acc


# ----------------------------------------------------------------- integration

@numba.njit(cache=True, inline="always", error_model="numpy")
def _norm(ws, row, n_y, rtol, atol):
    """The error norm of ``ws[row]`` over the species, scaled by y0 and y1."""
    total = 0.0
    for q in range(n_y):
        scale = atol + rtol * max(abs(ws[Y0, q]), abs(ws[Y1, q]))
        total += (ws[row, q] / scale) ** 2
    return math.sqrt(total / max(n_y, 1))


@borrowing_njit(error_model="numpy")
def _initial_step(hy, ctx, ws):
    """A first step size from y0 and f(y0) = ws[F0] (Hairer's ``hinit``, order 4; the
    forcing taken as constant)."""
    rtol, atol = hy.cont_tol[0], hy.cont_tol[1]
    n_y = len(hy.cont_idx)
    n = ws.shape[1]
    d0 = 0.0
    d1 = 0.0
    for q in range(n_y):
        scale = atol + rtol * abs(ws[Y0, q])
        d0 += (ws[Y0, q] / scale) ** 2
        d1 += (ws[F0, q] / scale) ** 2
    d0 = math.sqrt(d0 / max(n_y, 1))
    d1 = math.sqrt(d1 / max(n_y, 1))
    h = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    for q in range(n):
        ws[TMP, q] = ws[Y0, q] + h * ws[F0, q]
    _state_rhs(hy, ctx, ws, TMP, FV)
    _state_rhs(hy, ctx, ws, Y0, AUX)
    d2 = 0.0
    for q in range(n_y):
        scale = atol + rtol * abs(ws[Y0, q])
        d2 += ((ws[FV, q] - ws[AUX, q]) / scale) ** 2
    d2 = math.sqrt(d2 / max(n_y, 1)) / h
    biggest = max(d1, d2)
    h1 = max(1e-6, h * 1e-3) if biggest <= 1e-15 else (0.01 / biggest) ** 0.2
    return min(100.0 * h, h1)


@borrowing_njit(error_model="numpy")
def _barrier(hy, drive, t):
    """The next step time after ``t`` of an input that a flux reads, other than the
    membrane's (their steps are stops of the kernel's loop); inf if none."""
    inputs = hy.fx_steps_inputs
    in_step_ptr, in_step_time = drive[7], drive[8]
    t_next = math.inf
    for q in range(len(inputs)):
        i = inputs[q]
        for k in range(in_step_ptr[i], in_step_ptr[i + 1]):
            if in_step_time[k] > t:
                t_next = min(t_next, in_step_time[k])
                break
    return t_next


@numba.njit(cache=True, inline="always", error_model="numpy")
def _stage(hy, ctx, ws, arg, out, forcing, forced, timed, inv_h, h, d, c1, c2, c3, c4,
           c5, n_prev):
    """A stage's right-hand side into ``ws[out]``: g(ws[arg]) (+ the forcing row), plus
    ``(c1 u1 + … + c5 u5)/h`` (the first ``n_prev`` increments) and ``h d ∂f/∂t``; then
    solved for the stage increment. Only the integrated variables' entries matter (the
    solve reads those)."""
    _state_rhs(hy, ctx, ws, arg, out)
    z_idx = hy.z_idx
    hd = h * d
    for k in range(len(z_idx)):
        q = z_idx[k]
        acc = c1 * ws[U1, q]
        if n_prev >= 2:
            acc += c2 * ws[U2, q]
        if n_prev >= 3:
            acc += c3 * ws[U3, q]
        if n_prev >= 4:
            acc += c4 * ws[U4, q]
        if n_prev >= 5:
            acc += c5 * ws[U5, q]
        v = ws[out, q] + inv_h * acc
        if forced:
            v += ws[forcing, q]
        if timed:
            v += hd * ws[FT, q]
        ws[out, q] = v
    _solve(hy, ws, out, inv_h / _GAMMA)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _step(hy, drive, ctx, ws, st):
    """One accepted Rodas4 step from (st[T0], ws[Y0]): fills ws[Y1], the dense-output rows
    and st[T1], and chooses the next step size (module docstring). Returns OK,
    ODE_FAILURE or FLUX_NEGATIVE."""
    rtol, atol = hy.cont_tol[0], hy.cont_tol[1]
    n_y = len(hy.cont_idx)
    n = ws.shape[1]
    t0 = st[T0]
    if t0 >= st[T_BARRIER]:
        st[T_BARRIER] = _barrier(hy, drive, t0)
    forced, timed = _forcing_state(hy, drive, ctx, t0)
    _state_rhs(hy, ctx, ws, Y0, F0)
    if forced:
        _forcing(hy, drive, ctx, ws, t0, t0, B0)
        for q in range(n):
            ws[F0, q] += ws[B0, q]
    if timed:       # ∂f/∂t: only the forcing depends on t
        delta = (t0 + math.sqrt(_EPS * max(1e-5, abs(t0)))) - t0
        _forcing(hy, drive, ctx, ws, t0 + delta, t0, BD)
        for q in range(n):
            ws[FT, q] = (ws[BD, q] - ws[B0, q]) / delta
    for q in range(n):
        if not abs(ws[F0, q]) < math.inf:
            return ODE_FAILURE
    _jacobian(hy, ctx, ws)
    h = st[HNEXT]
    if not h > 0.0:
        h = _initial_step(hy, ctx, ws)
    fresh = st[FRESH] != 0.0
    if fresh and st[HRESTART] > 0.0:
        h = min(h, _RESTART_GROWTH * st[HRESTART])
    h = min(h, H_MAX)
    rejected = False
    n_singular = 0
    while True:
        truncated = t0 + h >= st[T_BARRIER]
        if truncated:
            h = st[T_BARRIER] - t0
        if not (h > 1e-14 * max(1.0, abs(t0)) and h < math.inf):
            return ODE_FAILURE
        if not _invert(hy, ws, 1.0 / (h * _GAMMA)):
            n_singular += 1
            if n_singular > 5:
                return ODE_FAILURE
            h *= 0.5
            continue
        b2, b3, b4, b5 = B0, B0, B0, B0
        if timed:       # the forcing at the other stage times
            _forcing(hy, drive, ctx, ws, t0 + _C2 * h, t0, B1)
            _forcing(hy, drive, ctx, ws, t0 + _C3 * h, t0, B2)
            _forcing(hy, drive, ctx, ws, t0 + _C4 * h, t0, B3)
            _forcing(hy, drive, ctx, ws, t0 + h, t0, B4)
            b2, b3, b4, b5 = B1, B2, B3, B4
        inv_h = 1.0 / h
        for q in range(n):
            ws[U1, q] = ws[F0, q] + (h * _D1 * ws[FT, q] if timed else 0.0)
        _solve(hy, ws, U1, 1.0 / (h * _GAMMA))
        for q in range(n):
            ws[TMP, q] = ws[Y0, q] + _A21 * ws[U1, q]
        _stage(hy, ctx, ws, TMP, U2, b2, forced, timed, inv_h, h, _D2, _C21, 0.0, 0.0, 0.0,
               0.0, 1)
        for q in range(n):
            ws[TMP, q] = ws[Y0, q] + _A31 * ws[U1, q] + _A32 * ws[U2, q]
        _stage(hy, ctx, ws, TMP, U3, b3, forced, timed, inv_h, h, _D3, _C31, _C32, 0.0,
               0.0, 0.0, 2)
        for q in range(n):
            ws[TMP, q] = (ws[Y0, q] + _A41 * ws[U1, q] + _A42 * ws[U2, q]
                          + _A43 * ws[U3, q])
        _stage(hy, ctx, ws, TMP, U4, b4, forced, timed, inv_h, h, _D4, _C41, _C42, _C43,
               0.0, 0.0, 3)
        for q in range(n):      # y5 stays in TMP
            ws[TMP, q] = (ws[Y0, q] + _A51 * ws[U1, q] + _A52 * ws[U2, q]
                          + _A53 * ws[U3, q] + _A54 * ws[U4, q])
        _stage(hy, ctx, ws, TMP, U5, b5, forced, False, inv_h, h, 0.0, _C51, _C52, _C53,
               _C54, 0.0, 4)
        for q in range(n):      # stage 6 from the embedded solution y5 + u5
            ws[Y1, q] = ws[TMP, q] + ws[U5, q]
        _stage(hy, ctx, ws, Y1, U6, b5, forced, False, inv_h, h, 0.0, _C61, _C62, _C63,
               _C64, _C65, 5)
        finite = True
        for q in range(n):
            ws[Y1, q] += ws[U6, q]
            if not abs(ws[Y1, q]) < math.inf:
                finite = False
        err = _norm(ws, U6, n_y, rtol, atol) if finite else math.inf
        if not err < math.inf:
            h *= 1.0 / _FAC_SHRINK
            st[N_REJECTED] += 1
            rejected = True
            continue
        fac = max(1.0 / _FAC_GROW, min(_FAC_SHRINK_FRESH if fresh else _FAC_SHRINK,
                                        err ** 0.25 / _SAFETY))
        if err > 1.0:
            h = h * 0.1 if st[N_STEPS] == 0 and not rejected else h / fac
            st[N_REJECTED] += 1
            rejected = True
            continue
        if st[N_STEPS] > 0:     # Gustafsson's predictive controller
            predicted = (st[HACC] / h) * (err * err / st[ERRACC]) ** 0.25 / _SAFETY
            fac = max(fac, max(1.0 / _FAC_GROW, min(_FAC_SHRINK, predicted)))
        st[HACC] = h
        st[ERRACC] = max(1e-2, err)
        h_next = h / fac
        if rejected:
            h_next = min(h_next, h)
        for q in range(n):
            ws[D1, q] = (_H21 * ws[U1, q] + _H22 * ws[U2, q] + _H23 * ws[U3, q]
                         + _H24 * ws[U4, q] + _H25 * ws[U5, q])
            ws[D2, q] = (_H31 * ws[U1, q] + _H32 * ws[U2, q] + _H33 * ws[U3, q]
                         + _H34 * ws[U4, q] + _H35 * ws[U5, q])
        st[T1] = st[T_BARRIER] if truncated else t0 + h
        st[HNEXT] = h_next
        st[N_STEPS] += 1
        if fresh:
            st[HRESTART] = h
            st[FRESH] = 0.0
        consumed = hy.fx_consumed
        for k in range(0, len(consumed), 2):
            s = consumed[k]
            # from a deficit (y0 <= 0) a flux reads 0: the kinetics repay it, not the flux
            if ctx[2][consumed[k + 1]] > 0.0 and ws[Y0, s] > 0.0 \
                    and ws[Y1, s] < -FLUX_NEGATIVE_ATOLS * atol:
                st[NEG_SLOT] = s
                return FLUX_NEGATIVE
        return OK


# ----------------------------------------------------------------- linear propagation

@borrowing_njit(error_model="numpy")
def _linear_able(hy):
    """Whether the model's continuous part can be propagated linearly (module docstring,
    "Linear propagation near a fixed point"): its ODE terms are all of the fast kind
    (mass action of at most two reactants of order 1: ``hy.mt_*``), no reaction reads a
    continuous species (no coupled reaction: nothing needs the dense output between the
    times asked), and no flux reads one or has a Michaelis–Menten or Hill factor (every
    flux is then a constant between events, or a forcing of the time)."""
    if len(hy.ode_code) or len(hy.ode_law_code) or len(hy.cp_rx):
        return False
    fx_ptr, fx_code = hy.fx_ptr, hy.fx_code
    for q in range(len(fx_ptr) - 1):
        p = fx_ptr[q]
        kind = fx_code[p + 1]
        if kind >= MICHAELIS_MENTEN or fx_code[p + 3 + 2 * fx_code[p + 2]] > 0:
            return False
    return True


@numba.njit(cache=True, inline="always", error_model="numpy")
def _eigen(hy, ws, st):
    """The eigen-decomposition ``J = V Λ V⁻¹`` of the species block of the Jacobian (the
    Jacobian rows, :func:`_jacobian`): Λ into ws[LAM], V and V⁻¹ into the rows N_ROWS + 2n
    and N_ROWS + 3n, ‖V‖∞‖V⁻¹‖∞ into st[LIN_KAPPA]. Returns False unless the eigenvalues
    are real, negative and distinct and the decomposition reproduces J (then the linear
    propagation is not used): shifted QR iteration (Rayleigh shift, deflation from the
    bottom, Givens rotations), eigenvectors by inverse iteration, V⁻¹ by Gauss–Jordan.
    Uses the inverted stage matrix's rows as scratch (a Rodas4 step rebuilds them)."""
    n = ws.shape[1]
    m_s = _n_species_z(hy, ws)
    jac, wrk, ev, evi = N_ROWS, N_ROWS + n, N_ROWS + 2 * n, N_ROWS + 3 * n
    scale = 0.0
    for i in range(m_s):
        row = 0.0
        for k in range(m_s):
            ws[wrk + i, k] = ws[jac + i, k]
            row += abs(ws[jac + i, k])
        scale = max(scale, row)
    if not (scale > 0.0 and scale < math.inf):
        return False
    m = m_s
    iterations = 0
    while m > 1:
        off = 0.0
        for j in range(m - 1):
            off = max(off, abs(ws[wrk + m - 1, j]))
        if off <= 1e-14 * scale:
            m -= 1
            continue
        iterations += 1
        if iterations > 60 * m_s:
            return False        # no convergence: complex eigenvalues, most likely
        mu = ws[wrk + m - 1, m - 1]
        if iterations % 11 == 0:
            mu += off           # an exceptional shift, against a cycle
        for i in range(m):
            ws[wrk + i, i] -= mu
            for k in range(m):
                ws[evi + i, k] = 1.0 if i == k else 0.0
        for k in range(m):      # R = Gᵀ… (W − μI) in place, Q = Π Gᵀ in the evi rows
            for i in range(k + 1, m):
                b = ws[wrk + i, k]
                if b == 0.0:
                    continue
                a = ws[wrk + k, k]
                r = math.hypot(a, b)
                c = a / r
                s = b / r
                for col in range(m):
                    rk = ws[wrk + k, col]
                    ri = ws[wrk + i, col]
                    ws[wrk + k, col] = c * rk + s * ri
                    ws[wrk + i, col] = -s * rk + c * ri
                    qk = ws[evi + col, k]
                    qi = ws[evi + col, i]
                    ws[evi + col, k] = c * qk + s * qi
                    ws[evi + col, i] = -s * qk + c * qi
        for i in range(m):      # W = R Q + μI
            for j in range(m):
                acc = 0.0
                for k in range(i, m):
                    acc += ws[wrk + i, k] * ws[evi + k, j]
                ws[ev + i, j] = acc
        for i in range(m):
            for j in range(m):
                ws[wrk + i, j] = ws[ev + i, j]
            ws[wrk + i, i] += mu
    for i in range(m_s):
        lam = ws[wrk + i, i]
        if not (lam < 0.0 and lam > -math.inf):
            return False
        for k in range(i):
            if abs(lam - ws[LAM, k]) <= 1e-6 * max(abs(lam), abs(ws[LAM, k])):
                return False    # (nearly) equal eigenvalues: V may be ill-conditioned
        ws[LAM, i] = lam
    for i in range(m_s):        # inverse iteration, two solves from a vector of ones
        shift = ws[LAM, i] * (1.0 + 1e-10)
        for r in range(m_s):
            ws[ev + r, i] = 1.0
        for _ in range(2):
            for r in range(m_s):
                for k in range(m_s):
                    ws[wrk + r, k] = ws[jac + r, k] - (shift if r == k else 0.0)
                ws[MODE, r] = ws[ev + r, i]
            for k in range(m_s):    # Gaussian elimination with partial pivoting
                pivot = k
                for r in range(k + 1, m_s):
                    if abs(ws[wrk + r, k]) > abs(ws[wrk + pivot, k]):
                        pivot = r
                if pivot != k:
                    for c in range(m_s):
                        v = ws[wrk + k, c]
                        ws[wrk + k, c] = ws[wrk + pivot, c]
                        ws[wrk + pivot, c] = v
                    v = ws[MODE, k]
                    ws[MODE, k] = ws[MODE, pivot]
                    ws[MODE, pivot] = v
                if ws[wrk + k, k] == 0.0:
                    ws[wrk + k, k] = 1e-300
                for r in range(k + 1, m_s):
                    f = ws[wrk + r, k] / ws[wrk + k, k]
                    if f != 0.0:
                        for c in range(k, m_s):
                            ws[wrk + r, c] -= f * ws[wrk + k, c]
                        ws[MODE, r] -= f * ws[MODE, k]
            biggest = 0.0
            for k in range(m_s - 1, -1, -1):
                acc = ws[MODE, k]
                for c in range(k + 1, m_s):
                    acc -= ws[wrk + k, c] * ws[MODE, c]
                ws[MODE, k] = acc / ws[wrk + k, k]
                biggest = max(biggest, abs(ws[MODE, k]))
            if not (biggest > 0.0 and biggest < math.inf):
                return False
            for r in range(m_s):
                ws[ev + r, i] = ws[MODE, r] / biggest
    residual = 0.0              # ‖J V − V Λ‖, relative
    for r in range(m_s):
        for i in range(m_s):
            acc = -ws[ev + r, i] * ws[LAM, i]
            for k in range(m_s):
                acc += ws[jac + r, k] * ws[ev + k, i]
            residual = max(residual, abs(acc))
    if not residual <= 1e-9 * scale:
        return False
    for r in range(m_s):        # V⁻¹: Gauss–Jordan on [V | I] (V copied to the scratch rows)
        for k in range(m_s):
            ws[wrk + r, k] = ws[ev + r, k]
            ws[evi + r, k] = 1.0 if r == k else 0.0
    for k in range(m_s):
        pivot = k
        for r in range(k + 1, m_s):
            if abs(ws[wrk + r, k]) > abs(ws[wrk + pivot, k]):
                pivot = r
        if not abs(ws[wrk + pivot, k]) > 0.0:
            return False
        for c in range(m_s):
            v = ws[wrk + k, c]
            ws[wrk + k, c] = ws[wrk + pivot, c]
            ws[wrk + pivot, c] = v
            v = ws[evi + k, c]
            ws[evi + k, c] = ws[evi + pivot, c]
            ws[evi + pivot, c] = v
        inverse = 1.0 / ws[wrk + k, k]
        for c in range(m_s):
            ws[wrk + k, c] *= inverse
            ws[evi + k, c] *= inverse
        for r in range(m_s):
            if r != k:
                f = ws[wrk + r, k]
                if f != 0.0:
                    for c in range(m_s):
                        ws[wrk + r, c] -= f * ws[wrk + k, c]
                        ws[evi + r, c] -= f * ws[evi + k, c]
    norm_v = 0.0
    norm_vi = 0.0
    for r in range(m_s):
        a = 0.0
        b = 0.0
        for k in range(m_s):
            a += abs(ws[ev + r, k])
            b += abs(ws[evi + r, k])
        norm_v = max(norm_v, a)
        norm_vi = max(norm_vi, b)
    kappa = norm_v * norm_vi
    if not kappa < 1e8:
        return False
    st[LIN_KAPPA] = kappa
    return True


@borrowing_njit(error_model="numpy")
def _refresh_linear(hy, ctx, ws, st):
    """Linearise at y0 = ws[Y0]: y_ref, the Jacobian and its eigen-decomposition
    (:func:`_eigen`), and the modal tensor of the bilinear remainder (:func:`_remainder_tensor`);
    st[LIN_VALID] says whether it can be used."""
    for q in range(ws.shape[1]):
        ws[YREF, q] = ws[Y0, q]
    _jacobian(hy, ctx, ws)
    valid = _eigen(hy, ws, st)
    if valid:
        _remainder_tensor(hy, ctx, ws)
    st[LIN_VALID] = 1.0 if valid else 0.0
    st[N_LIN_REFRESH] += 1
    return valid


@numba.njit(cache=True, inline="always")
def work_rows(n):
    """Rows of the work array ``ws`` for ``n`` integrated slots (species and flux totals):
    the N_ROWS rows, the N_MATRICES matrices of n × n, and the linear propagation's modal
    tensor of the remainder (:func:`_remainder_tensor`, Z² rows, Z <= n)."""
    return N_ROWS + N_MATRICES * n + n * n


@numba.njit(cache=True, inline="always", error_model="numpy")
def _mode_vector(hy, ws, slot, m):
    """Component of eigenvector ``m`` at ``slot`` (an integrated species, or a dependent
    one through its conservation law): ``V[slot, m]``."""
    n = ws.shape[1]
    i = hy.zpos[slot]
    if i >= 0:
        return ws[N_ROWS + 2 * n + i, m]
    d = hy.depof[slot]
    w = 0.0
    for p in range(hy.dep_ptr[d], hy.dep_ptr[d + 1]):
        w -= hy.dep_coef[p] * ws[N_ROWS + 2 * n + hy.dep_col[p], m]
    return w


@borrowing_njit(error_model="numpy")
def _remainder_tensor(hy, ctx, ws):
    """The bilinear remainder in modal coordinates, computed once per linearisation:
    with δ = y − y_ref = Σ_m V[:, m] α_m, the remainder's modal components are
    ``(V⁻¹ N(δ))_j = Σ_{m,l} Q[j, m, l] α_m α_l``, Q symmetric in (m, l):
    ``Q[j, m, l] = Σ_k c_k (V⁻¹ ν_k)_j (V[a_k, m] V[b_k, l] + V[b_k, m] V[a_k, l]) / 2``
    over the bilinear terms ``c_k y_a y_b`` of net change ν_k. Into the rows
    N_ROWS + 4n + j·Z + m, column l (Z³ numbers; the interval's estimate is then a
    contraction, :func:`_linear_try`). Scratch: U1 (V⁻¹ ν_k), U2 and U3 (V[a_k, :],
    V[b_k, :])."""
    n = ws.shape[1]
    m_s = _n_species_z(hy, ws)
    evi, qt = N_ROWS + 3 * n, N_ROWS + 4 * n
    for r in range(m_s * m_s):
        for l in range(m_s):
            ws[qt + r, l] = 0.0
    rate = ctx[0]
    mt_rx, mt_a, mt_b = hy.mt_rx, hy.mt_a, hy.mt_b
    mt_ptr, mt_slot, mt_val = hy.mt_ptr, hy.mt_slot, hy.mt_val
    zpos = hy.zpos
    for k in range(len(mt_rx)):
        sa = mt_a[k]
        sb = mt_b[k]
        if sa < 0 or sb < 0:
            continue
        c = rate[mt_rx[k]]
        for j in range(m_s):
            acc = 0.0
            for p in range(mt_ptr[k], mt_ptr[k + 1]):
                i = zpos[mt_slot[p]]
                if 0 <= i < m_s:
                    acc += ws[evi + j, i] * mt_val[p]
            ws[U1, j] = 0.5 * c * acc
        for m in range(m_s):
            ws[U2, m] = _mode_vector(hy, ws, sa, m)
            ws[U3, m] = _mode_vector(hy, ws, sb, m)
        for j in range(m_s):
            vj = ws[U1, j]
            if vj == 0.0:
                continue
            for m in range(m_s):
                for l in range(m_s):
                    ws[qt + j * m_s + m, l] += vj * (ws[U2, m] * ws[U3, l]
                                                     + ws[U3, m] * ws[U2, l])


@numba.njit(cache=True, inline="always", error_model="numpy")
def _psi(lam_j, exp_j, mu, exp_mu, s):
    """``ψ = ∫_0^s exp(λ_j (s − σ)) exp(μ σ) dσ = (exp(μs) − exp(λ_j s)) / (μ − λ_j)``
    from the two exponentials (``exp_j = exp(λ_j s)``, ``exp_mu = exp(μ s)``); for
    |μ − λ_j| s < 10⁻³ the series ``exp(λ_j s) s (1 + x/2 + x²/6)``, x = (μ − λ_j) s
    (truncation < 5·10⁻¹⁴ relative; the difference quotient loses at most
    ε/10⁻³ ≈ 2·10⁻¹³ relative above that)."""
    delta = mu - lam_j
    x = delta * s
    if abs(x) < 1e-3:
        return exp_j * s * (1.0 + x * (0.5 + x / 6.0))
    return (exp_mu - exp_j) / delta


@borrowing_njit(error_model="numpy")
def _linear_try(hy, drive, ctx, ws, st, t, forced):
    """One linear propagation from (st[T0], ws[Y0]) to ``t`` with the current
    decomposition; y(t) into ws[Y1] and the error bound's norm returned (inf: not
    applicable). Module docstring, "Linear propagation near a fixed point"."""
    n = ws.shape[1]
    n_y = len(hy.cont_idx)
    m_s = _n_species_z(hy, ws)
    z_idx = hy.z_idx
    ev, evi, qt = N_ROWS + 2 * n, N_ROWS + 3 * n, N_ROWS + 4 * n
    t0 = st[T0]
    s = t - t0
    # f(y_ref) with the current fluxes (they are constants between events)
    _state_rhs(hy, ctx, ws, YREF, GREF)
    if forced:
        _forcing(hy, drive, ctx, ws, t0, t0, B0)
        for q in range(n):
            ws[GREF, q] += ws[B0, q]
    # the fixed point of the linearised system in modal coordinates, y_u − y_ref = V d,
    # d = −Λ⁻¹ V⁻¹ f(y_ref) (into U5)
    for m in range(m_s):
        acc = 0.0
        for k in range(m_s):
            acc += ws[evi + m, k] * ws[GREF, z_idx[k]]
        ws[U5, m] = -acc / ws[LAM, m]
    for i in range(m_s):
        acc = 0.0
        for m in range(m_s):
            acc += ws[ev + i, m] * ws[U5, m]
        ws[YU, z_idx[i]] = ws[YREF, z_idx[i]] + acc
    for m in range(m_s):        # the modal coefficients c of y0 − y_u, exp(λ_m s)
        acc = 0.0
        for k in range(m_s):
            acc += ws[evi + m, k] * (ws[Y0, z_idx[k]] - ws[YU, z_idx[k]])
        ws[MODE, m] = acc
        ws[U4, m] = math.exp(ws[LAM, m] * s)
    for i in range(m_s):        # y(t) = y_u + V exp(Λs) c
        acc = ws[YU, z_idx[i]]
        for m in range(m_s):
            acc += ws[ev + i, m] * (ws[U4, m] * ws[MODE, m])
        ws[Y1, z_idx[i]] = acc
    dep_slot, dep_ptr, dep_col, dep_coef = hy.dep_slot, hy.dep_ptr, hy.dep_col, hy.dep_coef
    for d in range(len(dep_slot)):      # the conservation laws: as _solve
        acc = 0.0
        for p in range(dep_ptr[d], dep_ptr[d + 1]):
            q = z_idx[dep_col[p]]
            acc -= dep_coef[p] * (ws[Y1, q] - ws[Y0, q])
        ws[Y1, dep_slot[d]] = ws[Y0, dep_slot[d]] + acc
    rtol, atol = hy.cont_tol[0], hy.cont_tol[1]
    zero = -_ZERO_ATOLS * atol
    for q in range(n_y):
        if not ws[Y1, q] >= zero:
            return math.inf     # (an amount would go below 0: Rodas4 decides)
    for q in range(n_y, n):     # the flux totals: constant rates between events
        ws[Y1, q] = ws[Y0, q] + ws[GREF, q] * s
    # The error: e(s) = ∫_0^s exp(J(s − σ)) N(y(σ)) dσ to first order, N the quadratic
    # remainder of the bilinear terms along δ(σ) = y(σ) − y_ref = V α(σ),
    # α_m(σ) = d_m + c_m exp(λ_m σ). In modal coordinates (V⁻¹ N)_j = Σ_{m,l} Q[j, m, l]
    # α_m α_l (Q: :func:`_remainder_tensor`), a sum of exp(μσ), μ ∈ {0, λ_l, λ_m + λ_l},
    # each integrated exactly against exp(λ_j (s − σ)) (:func:`_psi`):
    #   e_j = (dᵀQ_j d) ψ(0) + Σ_m 2 c_m (Q_j d)_m ψ(λ_m) + Σ_{m,l} c_m c_l Q[j,m,l] ψ(λ_m + λ_l)
    # (Z exponentials per interval, those of the solution; e_j into U2, e = V e_modal into U3.)
    for j in range(m_s):
        lam_j = ws[LAM, j]
        exp_j = ws[U4, j]
        row = qt + j * m_s
        quad_d = 0.0
        acc = 0.0
        for m in range(m_s):
            qd = 0.0
            for l in range(m_s):
                qd += ws[row + m, l] * ws[U5, l]
            quad_d += ws[U5, m] * qd
            c_m = ws[MODE, m]
            acc += 2.0 * c_m * qd * _psi(lam_j, exp_j, ws[LAM, m], ws[U4, m], s)
            lam_m = ws[LAM, m]
            exp_m = ws[U4, m]
            for l in range(m, m_s):
                w = c_m * ws[MODE, l] * ws[row + m, l]
                if l != m:
                    w *= 2.0
                acc += w * _psi(lam_j, exp_j, lam_m + ws[LAM, l], exp_m * ws[U4, l], s)
        acc += quad_d * _psi(lam_j, exp_j, 0.0, 1.0, s)
        ws[U2, j] = acc
    for q in range(n):
        ws[U3, q] = 0.0
    for i in range(m_s):
        acc = 0.0
        for j in range(m_s):
            acc += ws[ev + i, j] * ws[U2, j]
        ws[U3, z_idx[i]] = acc
    for d in range(len(dep_slot)):
        acc = 0.0
        for p in range(dep_ptr[d], dep_ptr[d + 1]):
            acc -= dep_coef[p] * ws[U3, z_idx[dep_col[p]]]
        ws[U3, dep_slot[d]] = acc
    # the solution advances with the correction (local extrapolation, as Rodas4 advances
    # with its order-4 solution); its size is the error estimate
    total = 0.0
    for q in range(n_y):
        corrected = ws[Y1, q] + ws[U3, q]
        scale = atol + rtol * max(abs(ws[Y0, q]), abs(corrected))
        total += (ws[U3, q] / scale) ** 2
        ws[Y1, q] = corrected
        if not corrected >= zero:
            return math.inf
    return math.sqrt(total / max(n_y, 1))


@borrowing_njit(error_model="numpy")
def _linear(hy, drive, ctx, ws, st, t, forced):
    """Propagate y exactly along the linearised system from st[T0] to ``t`` (no step is
    left open: st[T0] = st[T1] = t) if its error bound is within the tolerance, with the
    current reference point or, if that fails, one linearised at y0 now. Returns whether
    it did; if not, Rodas4 steps (module docstring, "Linear propagation near a fixed
    point"). After a refusal nothing is tried before st[LIN_NEXT] (:func:`_lin_wait`)."""
    n_y = len(hy.cont_idx)
    t0 = st[T0]
    waiting = t0 < st[LIN_NEXT]
    if waiting and st[LIN_MILD] == 0.0:
        return False            # refused lately: the transient has not relaxed yet
    zero = -_ZERO_ATOLS * hy.cont_tol[1]
    for q in range(n_y):
        if not ws[Y0, q] >= zero:
            return False        # a deficit: the terms read |y| (section "Deficits")
    fresh = False
    if st[LIN_VALID] != 0.0 and _law_totals_moved(hy, ws):
        st[LIN_VALID] = 0.0     # a jump changed a conserved total: linearise afresh
    if waiting:
        # after a mild refusal: the kept decomposition only (_MILD_ESTIMATE); accepted,
        # the wait ends
        if st[LIN_VALID] == 0.0:
            return False
        if not _linear_try(hy, drive, ctx, ws, st, t, forced) <= 1.0:
            return False
        st[LIN_NEXT] = 0.0
    else:
        if st[LIN_VALID] == 0.0:
            fresh = True
            if not _refresh_linear(hy, ctx, ws, st):
                st[LIN_NEXT] = math.inf     # (not diagonalisable here: Rodas4 from now on)
                return False
        err = _linear_try(hy, drive, ctx, ws, st, t, forced)
        if not err <= 1.0 and not fresh:
            fresh = True
            if not _refresh_linear(hy, ctx, ws, st):
                st[LIN_NEXT] = math.inf
                return False
            err = _linear_try(hy, drive, ctx, ws, st, t, forced)
        if not err <= 1.0:
            # linearised here and still refused: no try (nor refresh) before the slowest
            # mode alone would bring the estimate to 1
            st[N_LIN_REFUSED] += 1
            st[LIN_NEXT] = t0 + _lin_wait(hy, ws, err)
            st[LIN_MILD] = 1.0 if err < _MILD_ESTIMATE else 0.0
            return False
    for q in range(ws.shape[1]):
        ws[Y0, q] = ws[Y1, q]
    st[T0] = t
    st[T1] = t
    st[N_LINEAR] += 1
    return True


@numba.njit(cache=True, inline="always", error_model="numpy")
def _law_totals_moved(hy, ws):
    """Whether a conserved total (``y_d + Σ coef · y_c`` of a conservation law, the
    dependent species d) differs at ws[Y0] from the reference point ws[YREF]: a jump (a
    discrete reaction's net change in continuous species) changed it. The linearisation
    eliminated d with the total at y_ref, so the linear solution would keep the old total's
    dynamics, and the error estimate (the quadratic remainder) does not see it: measured
    before this check on a buffer whose sites a discrete reaction adds one by one (40
    jumps in 0.3 s, ``tests/engine/test_continuous.py``), 3.7·10⁴ times the tolerance off
    Rodas4."""
    z_idx = hy.z_idx
    dep_slot, dep_ptr, dep_col, dep_coef = hy.dep_slot, hy.dep_ptr, hy.dep_col, hy.dep_coef
    for d in range(len(dep_slot)):
        now = ws[Y0, dep_slot[d]]
        ref = ws[YREF, dep_slot[d]]
        for p in range(dep_ptr[d], dep_ptr[d + 1]):
            q = z_idx[dep_col[p]]
            now += dep_coef[p] * ws[Y0, q]
            ref += dep_coef[p] * ws[YREF, q]
        if abs(now - ref) > 1e-9 * max(1.0, abs(now)):
            return True
    return False


@numba.njit(cache=True, inline="always", error_model="numpy")
def _lin_wait(hy, ws, err):
    """How long (s) no linear propagation is tried after one refused with the estimate
    ``err`` > 1 from a fresh linearisation (module docstring, "Linear propagation near a
    fixed point"): the estimate is quadratic in the deviation from the reference point,
    which decays at least as fast as the slowest mode, exp(λ_min s); so ``ln(err) /
    (2|λ_min|)``, the time that decay alone takes to bring the estimate to 1, at most one
    slowest time constant ``1/|λ_min|`` (a driven transient, whose fixed point moves with
    the fluxes, is then tried again once per time constant; an amount that would go below
    zero, err = inf, waits that long too)."""
    slowest = 0.0
    for m in range(_n_species_z(hy, ws)):
        slowest = max(slowest, 1.0 / abs(ws[LAM, m]))
    if not slowest < math.inf:
        return math.inf
    if err < math.inf:
        return slowest * min(1.0, 0.5 * math.log(err))
    return slowest


@borrowing_njit(error_model="numpy")
def cover(hy, drive, ctx, ws, st, t, strict, values, sample_times):
    """Integrate until a step covers ``t``: ``st[T0] <= t <= st[T1]``, and ``t < st[T1]``
    if ``strict`` (a quadrature step starting at t needs room after it). ``t`` must not
    be before ``st[T0]``, and nothing may change the right-hand side before ``t`` (the
    caller asks for times up to the next such change). Before leaving a step, the amounts
    at the samples it holds go to ``values`` (the caller records the others): once left,
    a step's dense output is gone. Returns OK, ODE_FAILURE or FLUX_NEGATIVE.

    ``ctx`` is (rate, x, fx_static, mem, pulse, base) of the kernel: what the right-hand
    side reads besides y."""
    n_y = len(hy.cont_idx)
    n = ws.shape[1]
    while True:
        if t == st[T0] and not strict:
            return OK
        if st[T1] > st[T0] and (t < st[T1] or (t == st[T1] and not strict)):
            return OK
        if st[T1] > st[T0]:            # move to the end of the current step
            k = int(st[SAMPLED])
            while k < len(sample_times) and sample_times[k] <= st[T1]:
                for q in range(n_y):
                    values[k, q] = value_at(ws, st, q, sample_times[k])
                k += 1
            st[SAMPLED] = k
            st[T0] = st[T1]
            for q in range(n):
                ws[Y0, q] = ws[Y1, q]
            if t == st[T0] and not strict:
                return OK
        if st[LIN_ABLE] != 0.0 and not strict and t > st[T0]:
            t0 = st[T0]
            if t0 >= st[T_BARRIER]:
                st[T_BARRIER] = _barrier(hy, drive, t0)
            forced, timed = _forcing_state(hy, drive, ctx, t0)
            if not timed and t <= st[T_BARRIER] and _linear(hy, drive, ctx, ws, st, t,
                                                              forced):
                continue        # y(t) is in ws[Y0], st[T0] = st[T1] = t
        status = _step(hy, drive, ctx, ws, st)
        if status != OK:
            return status


@numba.njit(cache=True, inline="always", error_model="numpy")
def value_at(ws, st, q, t):
    """The amount of slot ``q`` at ``t`` (inside the current step; y0 at T0 or without
    one): the dense output of Rodas4 (Hairer's ``CONTRO``)."""
    t0 = st[T0]
    h = st[T1] - t0
    if not h > 0.0 or t == t0:
        return ws[Y0, q]
    theta = (t - t0) / h
    theta1 = 1.0 - theta
    return theta1 * ws[Y0, q] + theta * (ws[Y1, q] + theta1 * (ws[D1, q]
                                                               + theta * ws[D2, q]))


@numba.njit(cache=True, inline="always", error_model="numpy")
def values_at(ws, st, t):
    """All amounts (and flux totals) at ``t`` into ``ws[YT]``."""
    for q in range(ws.shape[1]):
        ws[YT, q] = value_at(ws, st, q, t)


@borrowing_njit(error_model="numpy")
def settle(hy, drive, ctx, ws, st, t, values, sample_times):
    """y(t) into ws[Y0], the step ended at ``t`` (the next one starts there): before an
    event or a scheduled change that changes the right-hand side or y (module docstring).
    Returns OK, ODE_FAILURE or FLUX_NEGATIVE."""
    status = cover(hy, drive, ctx, ws, st, t, False, values, sample_times)
    if status != OK:
        return status
    values_at(ws, st, t)
    for q in range(ws.shape[1]):
        ws[Y0, q] = ws[YT, q]
    st[T0] = t
    st[T1] = t
    st[N_RESTARTS] += 1
    st[FRESH] = 1.0
    return OK


@borrowing_njit(error_model="numpy")
def start(hy, ctx, ws, st, cp_static):
    """At t = 0: y from the initial counts (flux totals 0), the discrete factors of the
    coupled reactions and the fluxes. Returns (coupled reactions with a factor > 0,
    time-dependent fluxes with a factor > 0)."""
    x = ctx[1]
    cont_idx = hy.cont_idx
    st[:] = 0.0
    st[T_BARRIER] = -math.inf
    st[LIN_ABLE] = 1.0 if (hy.cont_tol[2] != 0.0 and _linear_able(hy)
                           and _n_species_z(hy, ws) > 0) else 0.0
    for q in range(ws.shape[1]):
        ws[Y0, q] = x[cont_idx[q]] if q < len(cont_idx) else 0.0
    return refresh_all(hy, ctx, cp_static)


@borrowing_njit(error_model="numpy")
def resume(hy, ctx, st, cp_static):
    """After interventions (at the time of :func:`settle`; counts, amounts and rates
    changed): refresh every discrete factor, and linearise afresh (the rates may have
    changed the Jacobian). Returns the live counts of :func:`start`."""
    st[LIN_VALID] = 0.0
    st[LIN_NEXT] = 0.0
    return refresh_all(hy, ctx, cp_static)


@numba.njit(cache=True, inline="always", error_model="numpy")
def settle_first(hy, j):
    """Whether reaction ``j``'s firing must find the ODE settled before it changes the
    counts: it jumps y, or changes a discrete species that a flux's Michaelis–Menten or
    Hill factor reads (the right-hand side reads those counts; every other flux factor
    is kept in ``fx_static``, compared after the firing by :func:`fired`)."""
    return hy.settle_before[j] != 0


@borrowing_njit(error_model="numpy")
def fired(hy, drive, ctx, ws, st, cp_static, j, t, settled, conductance, n_fx_timed,
          values, sample_times):
    """Reaction ``j`` fired at ``t`` (its counts and agents changed; the membrane not yet
    re-anchored; ``settled``: the ODE was settled at ``t`` first, :func:`settle_first`):
    its jump of y; if it changed a flux's discrete factor, or the conductance while a
    voltage-driven flux is live, the ODE settled at ``t`` (its right-hand side still reads
    the old factors and membrane) and the factors updated; the coupled reactions'
    factors. Returns (status, change in how many coupled reactions have a factor > 0,
    the same for time-dependent fluxes)."""
    change_fx = 0
    fx_static = ctx[2]
    fxdep_ptr, fxdep_idx = hy.fxdep_ptr, hy.fxdep_idx
    changed = settled
    if not changed:
        for p in range(fxdep_ptr[j], fxdep_ptr[j + 1]):
            q = fxdep_idx[p]
            if _discrete_factor(hy.fx_ptr, hy.fx_code, ctx[0], ctx[1], q) != fx_static[q]:
                changed = True
                break
        if conductance != 0 and n_fx_timed > 0 and hy.fx_voltage[0] != 0:
            changed = True
        if changed:
            status = settle(hy, drive, ctx, ws, st, t, values, sample_times)
            if status != OK:
                return status, 0, 0
    if changed:
        jump_ptr, jump_slot, jump_val = hy.jump_ptr, hy.jump_slot, hy.jump_val
        for p in range(jump_ptr[j], jump_ptr[j + 1]):
            q = jump_slot[p]
            value = ws[Y0, q] + jump_val[p]
            # a deficit is kept, never clamped (module docstring, "Deficits")
            if -value > st[MAX_DEFICIT]:
                st[MAX_DEFICIT] = -value
            ws[Y0, q] = value
        for p in range(fxdep_ptr[j], fxdep_ptr[j + 1]):
            q = fxdep_idx[p]
            value = _discrete_factor(hy.fx_ptr, hy.fx_code, ctx[0], ctx[1], q)
            if _flux_timed(hy, q):
                change_fx += (value > 0.0) - (fx_static[q] > 0.0)
            fx_static[q] = value
    return OK, refresh(hy, ctx, cp_static, j), change_fx


@borrowing_njit(error_model="numpy")
def record(hy, drive, ctx, ws, st, values, counts, record_idx, sample_times, k_first, k_stop):
    """The amounts at samples ``k_first … k_stop-1`` (all before the next event):
    ``values[k]`` (float; some may be there already, see :func:`cover`), and in ``counts``
    the nearest whole number (>= 0) for the recorded continuous species. Returns OK,
    ODE_FAILURE or FLUX_NEGATIVE."""
    cont_slot = hy.cont_slot
    n_y = len(hy.cont_idx)
    for k in range(k_first, k_stop):
        if k >= st[SAMPLED]:
            t = sample_times[k]
            status = cover(hy, drive, ctx, ws, st, t, False, values, sample_times)
            if status != OK:
                return status
            if k >= st[SAMPLED]:
                for q in range(n_y):
                    values[k, q] = value_at(ws, st, q, t)
                st[SAMPLED] = k + 1
        for r in range(len(record_idx)):
            q = cont_slot[record_idx[r]]
            if q >= 0:
                counts[k, r] = max(0, round(values[k, q]))
    return OK


@borrowing_njit(error_model="numpy")
def totals(hy, drive, ctx, ws, st, t, values, sample_times, result, first):
    """The flux totals at ``t`` (the end) into ``result[first + q]``. Returns OK,
    ODE_FAILURE or FLUX_NEGATIVE."""
    n_y = len(hy.cont_idx)
    n_flux = ws.shape[1] - n_y
    if n_flux == 0:
        return OK
    status = cover(hy, drive, ctx, ws, st, max(t, st[T0]), False, values, sample_times)
    if status == OK:
        t = max(t, st[T0])
    else:
        t = st[T0]      # a failed step: what was reached
    for q in range(n_flux):
        if first + q < len(result):
            result[first + q] = value_at(ws, st, n_y + q, t)
    return status


# ----------------------------------------------------------------- discrete factors

@numba.njit(cache=True, inline="always", error_model="numpy")
def _discrete_factor(ptr, code, rate, x, q):
    """``s = c · Π C(x_s, ν_s)`` over the discrete reactants of entry ``q`` of a packed code
    (``ptr[q]``: j, kind, n, n × (state index, order), …): the arithmetic of
    :func:`.ssa.propensity`, on this module's packed code; not shared: an inlined helper for
    it made the plain SSA loop 4.5x slower."""
    p = ptr[q]
    a = rate[code[p]]
    n_discrete = code[p + 2]
    p += 3
    for _ in range(n_discrete):
        n = x[code[p]]
        nu = code[p + 1]
        p += 2
        if n < nu:
            return 0.0
        if nu == 1:
            a = a * n
        else:
            b = 1.0
            for k in range(nu):
                b = b * (n - k) / (k + 1)
            a = a * b
    return a


@numba.njit(cache=True, inline="always", error_model="numpy")
def _flux_timed(hy, q):
    kind = hy.fx_code[hy.fx_ptr[q] + 1]
    return kind >= VOLTAGE and kind <= BOLTZMANN


@borrowing_njit(error_model="numpy")
def refresh_all(hy, ctx, cp_static):
    """Every discrete factor (coupled reactions, fluxes); returns how many coupled
    reactions and how many time-dependent fluxes have one > 0."""
    rate, x, fx_static = ctx[0], ctx[1], ctx[2]
    live = 0
    for q in range(len(cp_static)):
        cp_static[q] = _discrete_factor(hy.cp_ptr, hy.cp_code, rate, x, q)
        if cp_static[q] > 0.0:
            live += 1
    timed = 0
    for q in range(len(fx_static)):
        fx_static[q] = _discrete_factor(hy.fx_ptr, hy.fx_code, rate, x, q)
        if fx_static[q] > 0.0 and _flux_timed(hy, q):
            timed += 1
    return live, timed


@numba.njit(cache=True, inline="always", error_model="numpy")
def refresh(hy, ctx, cp_static, j):
    """After reaction ``j`` fired: the coupled reactions' discrete factors it changes;
    returns the change in the number that are > 0."""
    cpdep_ptr, cpdep_idx = hy.cpdep_ptr, hy.cpdep_idx
    change = 0
    for p in range(cpdep_ptr[j], cpdep_ptr[j + 1]):
        q = cpdep_idx[p]
        value = _discrete_factor(hy.cp_ptr, hy.cp_code, ctx[0], ctx[1], q)
        change += (value > 0.0) - (cp_static[q] > 0.0)
        cp_static[q] = value
    return change


# ----------------------------------------------------------------- coupled reactions

@numba.njit(cache=True, inline="always", error_model="numpy")
def _coupled(hy, x, ws, st, cp_static, q, t):
    """Propensity of coupled reaction ``q`` at ``t`` (its continuous reactants from the
    dense output; for a law, all amounts at t in ``ws[YT]``)."""
    cp_ptr, cp_code = hy.cp_ptr, hy.cp_code
    p = cp_ptr[q]
    j = cp_code[p]
    kind = cp_code[p + 1]
    p += 3 + 2 * cp_code[p + 2]
    a = cp_static[q]
    n = cp_code[p]
    p += 1
    for _ in range(n):
        a *= _power(value_at(ws, st, cp_code[p], t), cp_code[p + 1])
        p += 2
    if kind != MASS_ACTION:
        values_at(ws, st, t)
        a *= _law(hy, j, kind, x, ws, YT)
    return a


@borrowing_njit(error_model="numpy")
def coupled_rate(hy, x, ws, st, cp_static, t):
    """Sum of the coupled reactions' propensities at ``t`` (inside the current step)."""
    total = 0.0
    for q in range(len(cp_static)):
        if cp_static[q] > 0.0:
            total += _coupled(hy, x, ws, st, cp_static, q, t)
    return total


@borrowing_njit(error_model="numpy")
def _tv_span(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, a, b):
    """Gauss–Legendre (3 points) estimate of ``∫_a^b Σ_j s_j f_j(t) dt`` (the time-dependent
    reactions), by calls of :func:`.hazard.tv_rate_at`."""
    half = 0.5 * (b - a)
    mid = a + half
    return half * (_GL_W_OUTER * (tv_rate_at(drive, tv_list, tv_static, used_inputs, base,
                                             pulse, mem, u_now, mid - half * _GL_X)
                                  + tv_rate_at(drive, tv_list, tv_static, used_inputs, base,
                                               pulse, mem, u_now, mid + half * _GL_X))
                   + _GL_W_MID * tv_rate_at(drive, tv_list, tv_static, used_inputs, base,
                                            pulse, mem, u_now, mid))


@borrowing_njit(error_model="numpy")
def _rate(hy, x, ws, st, cp_static, has_tv, drive, tv_list, tv_static, used_inputs, base,
          pulse, mem, u_now, t):
    """The time-varying part of a0 at t: coupled reactions, and time-dependent ones."""
    total = coupled_rate(hy, x, ws, st, cp_static, t)
    if has_tv:
        total += tv_rate_at(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t)
    return total


@borrowing_njit(error_model="numpy")
def _integral(hy, x, ws, st, cp_static, has_tv, drive, tv_list, tv_static, used_inputs, base,
              pulse, mem, u_now, a, b):
    """Gauss–Legendre (3 points) estimate of ``∫_a^b`` of :func:`_rate`."""
    half = 0.5 * (b - a)
    mid = a + half
    total = half * (_GL_W_OUTER * (coupled_rate(hy, x, ws, st, cp_static, mid - half * _GL_X)
                                   + coupled_rate(hy, x, ws, st, cp_static,
                                                  mid + half * _GL_X))
                    + _GL_W_MID * coupled_rate(hy, x, ws, st, cp_static, mid))
    if has_tv:
        total += _tv_span(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, a, b)
    return total


@borrowing_njit(error_model="numpy")
def next_event_time(hy, drive, ctx, ws, st, cp_static, tv_list, tv_static, used_inputs,
                    u_now, h_max, has_tv, a_const, t, e, t_limit, values, sample_times):
    """(τ, status): the time τ > t at which ``∫_t^τ a0 = e`` (inf if after ``t_limit``),
    with a0 the tree's constant ``a_const`` plus the coupled reactions along y(t) plus,
    if ``has_tv``, the time-dependent ones.

    The ODE is integrated on to τ (its current step covers τ; the samples of the steps
    left on the way are recorded into ``values``, :func:`cover`). Quadrature steps end at
    the ODE's step ends, the input steps and :func:`.hazard.quadrature_step_end`;
    the crossing is found by a safeguarded Newton iteration on the same quadrature. (The
    exact kernel draws the time-dependent kinds' events by thinning instead,
    :mod:`.hazard`; here the rates follow an ODE, whose values between its
    dense-output points are not bounded cheaply.)"""
    x, mem, pulse, base = ctx[1], ctx[3], ctx[4], ctx[5]
    hazard = 0.0
    a = t
    t_break = set_bases(drive, used_inputs, a, base) if has_tv else math.inf
    while a < t_limit:
        status = cover(hy, drive, ctx, ws, st, a, True, values, sample_times)
        if status != OK:
            return math.inf, status
        b = min(st[T1], t_limit)
        if has_tv:
            if a >= t_break:
                t_break = set_bases(drive, used_inputs, a, base)
            b = min(b, quadrature_step_end(drive, used_inputs, pulse, mem, base, a, h_max),
                    t_break)
        step = a_const * (b - a) + _integral(hy, x, ws, st, cp_static, has_tv, drive,
                                             tv_list, tv_static, used_inputs, base, pulse,
                                             mem, u_now, a, b)
        if hazard + step >= e:
            lo = a
            hi = b
            tau = a + (b - a) * (e - hazard) / step if step > 0.0 else b
            tol = 4e-16 * max(1.0, abs(tau))
            for _ in range(100):
                g = (hazard + a_const * (tau - a)
                     + _integral(hy, x, ws, st, cp_static, has_tv, drive, tv_list, tv_static,
                                 used_inputs, base, pulse, mem, u_now, a, tau) - e)
                if g == 0.0:
                    break
                if g > 0.0:
                    hi = tau
                else:
                    lo = tau
                slope = a_const + _rate(hy, x, ws, st, cp_static, has_tv, drive, tv_list,
                                        tv_static, used_inputs, base, pulse, mem, u_now, tau)
                candidate = tau - g / slope if slope > 0.0 else 0.5 * (lo + hi)
                if abs(candidate - tau) <= tol:
                    tau = min(max(candidate, lo), hi)
                    break
                if not (candidate > lo and candidate < hi):
                    candidate = 0.5 * (lo + hi)
                tau = candidate
                if hi - lo <= tol:
                    break
            return tau, OK
        hazard += step
        a = b
    return math.inf, OK


@borrowing_njit(error_model="numpy")
def select(hy, ctx, ws, st, cp_static, drive, tv_list, tv_static, used_inputs, u_now, has_tv,
           a_tree, t, v):
    """(j, u) for the reaction chosen by the uniform ``v`` in [0, 1) at ``t``, scaled by
    the total propensity ``a_tree + Σ time-dependent + Σ coupled``: ``j = -1`` means the
    sum tree, by ``u < a_tree`` (:func:`.ssa.tree_select`). Never a reaction of zero
    propensity (round-off past the end picks the last positive one)."""
    x, mem, pulse, base = ctx[1], ctx[3], ctx[4], ctx[5]
    a_tv = (tv_rate_at(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t)
            if has_tv else 0.0)
    a_cp = coupled_rate(hy, x, ws, st, cp_static, t)
    u = v * (a_tree + a_tv + a_cp)
    if u < a_tree or (a_tv <= 0.0 and a_cp <= 0.0):
        return -1, min(u, a_tree)
    u -= a_tree
    if u < a_tv or a_cp <= 0.0:
        return select_tv(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now,
                         t, u), 0.0
    u -= a_tv
    cp_rx = hy.cp_rx
    last = -1
    for q in range(len(cp_static)):
        if cp_static[q] > 0.0:
            a = _coupled(hy, x, ws, st, cp_static, q, t)
            if a > 0.0:
                last = cp_rx[q]
                if u < a:
                    return last, 0.0
                u -= a
    return last, 0.0


__all__ = ["FLUX_NEGATIVE", "FLUX_NEGATIVE_ATOLS", "N_ROWS", "N_SCALARS", "ODE_FAILURE",
           "cover", "coupled_rate", "fired", "flux_input", "next_event_time",
           "record", "refresh", "refresh_all", "resume", "select", "settle", "settle_first",
           "start",
           "totals", "value_at", "values_at"]
