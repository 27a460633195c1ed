"""The ``stochsyn`` command: run, sweep, merge, summarize, plot, info, export, validate.

Every command answers a mistake with one line saying what is wrong and where, then a line
with a hint, and exit status 2; the messages use the command's own terms (options such as
``--t-end``, never the Python names behind them). An error that is not a mistake of the
input is a bug: its traceback is shown with a request to report it (exit status 70,
EX_SOFTWARE of sysexits.h).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

from . import limits

_EXIT_BAD_INPUT = 2
#: Exit status of a run whose trajectories stopped before t_end (without --allow-stopped).
_EXIT_STOPPED = 3
_EXIT_WRITE_FAILED = 1
_EXIT_INTERRUPTED = 130
_EXIT_BUG = 70
_INT64_MAX = limits.INT64_MAX


class CommandError(ValueError):
    """A mistake on the command line; ``hint`` says what to give instead."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


# -- argument types: each answers in the option's own terms (argparse adds the option) --------

def _whole(minimum: int, maximum: int | None = _INT64_MAX):
    """An argparse type: a whole number in [minimum, maximum] (None: no maximum); ``1e4``
    and ``100.0`` count."""
    def parse(text: str) -> int:
        value = None
        if len(text) <= 100:
            try:
                value = int(text)
            except ValueError:
                try:
                    number = float(text)
                    value = int(number) if number.is_integer() else None
                except (ValueError, OverflowError):
                    value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bounds = (f">= {minimum}" if maximum is None else
                      f"from {minimum} to {maximum:,}" + (" (2^63 - 1)"
                                                          if maximum == _INT64_MAX else ""))
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, not "
                                             f"{text[:40]!r}")
        return value
    parse.__name__ = "whole number"
    return parse


def _seconds(*, positive: bool):
    """An argparse type: a finite time in seconds, > 0 (``positive``) or >= 0."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(
                f"must be a time in seconds {'> 0' if positive else '>= 0'} (a plain number, "
                f"e.g. 10 or 0.5), not {text[:40]!r}")
        return value
    parse.__name__ = "time"
    return parse


def _parameter_overrides(items: list[str]) -> dict[str, float | str]:
    """``--set NAME=VALUE`` items as keyword arguments of ``Model.with_parameters``: a
    plain number stays a number (taken in the unit the model writes the parameter in, which
    a warning names when it is not 1/s, s or mV), anything else is text read like a value
    in the model file (``0.1 /s``, ``k_on * 2``)."""
    overrides: dict[str, float | str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise CommandError(f"--set takes NAME=VALUE, not {item!r}",
                               "e.g. --set k_exo='0.1 /s' (the unit is optional: a plain "
                               "number is taken in the unit the model file uses)")
        try:
            number = float(value)
            overrides[name.strip()] = number if math.isfinite(number) else value.strip()
        except ValueError:
            overrides[name.strip()] = value.strip()
    return overrides


def _output_folder(args, default: Path) -> Path:
    """The results folder of ``run`` and ``sweep`` (``--out``, else ``default``), checked
    before the run: not a file, and creatable (the folders this check creates are removed
    again: a run that is refused leaves nothing behind). What a folder that holds a run
    means (--resume, --overwrite) the runner decides."""
    out = Path(args.out) if args.out else default
    option = f"--out {out}" if args.out else f"the results folder {out} (default)"
    if out.exists() and not out.is_dir():
        raise CommandError(f"{option} is a file, not a folder",
                           "give --out a folder name; it is created")
    missing = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{option}: cannot create the folder ({exc.strerror or exc})",
                           "give --out a folder you can write to") from None
    for folder in missing:                    # innermost first
        folder.rmdir()
    return out


def _continuous(model, text, exact=False):
    """The model with ``--continuous`` applied (names separated by commas or spaces;
    "none" or "" makes it exact), or exact with ``--exact``."""
    if exact:
        if text is not None:
            raise CommandError("--exact and --continuous both given",
                               "give --exact (the fully exact run) or --continuous NAMES, "
                               "not both")
        return model.with_continuous([])
    if text is None:
        return model
    names = [n for n in text.replace(",", " ").split() if n]
    return model.with_continuous([] if names == ["none"] else names)


def _executor(args):
    """The Dask executor of ``--scheduler ADDRESS`` or ``--workers N`` (None without), and
    a function that shuts down what was started here."""
    if not (getattr(args, "scheduler", None) or getattr(args, "workers", None)):
        return None, lambda: None
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise CommandError("--scheduler and --workers need Dask, which is not installed",
                           "pip install 'stochsyn[dask]'") from None
    if args.scheduler and args.workers:
        raise CommandError("--scheduler and --workers both given",
                           "give either --scheduler ADDRESS (an existing Dask cluster) or "
                           "--workers N (a local one), not both")
    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CommandError(f"cannot reach the Dask scheduler at {args.scheduler!r} "
                               f"({reason})", "check the --scheduler address (e.g. "
                               "tcp://node12:8786) and that the scheduler runs") from None

        def close():
            client.close()
    else:
        # One numba thread per worker process: batches are the parallel unit (STYLE §4).
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", env={"NUMBA_NUM_THREADS": "1"})
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()
    if not args.quiet:
        print(f"dask: {len(client.scheduler_info().get('workers', {}))} workers, dashboard "
              f"{client.dashboard_link}", file=sys.stderr)
    return client.get_executor(), close


def _run_options(args) -> dict:
    shard = None
    if getattr(args, "shard", None):
        try:
            shard = tuple(int(part) for part in args.shard.split("/"))
            if len(shard) != 2:
                raise ValueError
        except ValueError:
            raise CommandError(f"--shard takes i/N, not {args.shard!r}",
                               "e.g. --shard 3/64: the fourth of 64 slices") from None
        if not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
            raise CommandError(f"shard {shard[0]}/{shard[1]} is out of range: the index runs "
                               f"from 0 to {shard[1] - 1} for {shard[1]} slices"
                               if shard[1] >= 1 else f"--shard {args.shard}: N must be >= 1")
    return dict(t_end=args.t_end, seed=args.seed, sample_every=args.sample_every,
                record_events=args.record_events, max_events=args.max_events,
                n_threads=args.threads, batch_size=args.batch_size,
                progress=not args.quiet, resume=args.resume, overwrite=args.overwrite,
                shard=shard, max_wall=args.max_wall)


def _simulate_and_report(args, out: Path, run, t_end: float | None = None,
                         final_table: bool = True) -> int:
    """Run ``run(executor=...)`` (simulate or sweep), then say what happened: the figures,
    stopped trajectories (exit status 3 unless --allow-stopped), a folder that already
    holds the finished run. ``t_end`` (s) is the run's end if not ``--t-end``;
    ``final_table`` prints the table of every species and observable at the end."""
    import warnings

    import numpy as np

    import stochsyn as ss
    from stochsyn import AlreadyComplete, BudgetWarning

    executor, close = _executor(args)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BudgetWarning)
            try:
                ens = run(executor)
            except AlreadyComplete:
                print(f"{out}/ already holds this run, complete: nothing to do (--overwrite "
                      "runs it again)")
                if final_table:
                    _print_final(ss.read(out))
                return 0
    finally:
        close()
    seconds = time.perf_counter() - start
    for warning in caught:
        if not issubclass(warning.category, BudgetWarning):
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)
    events = int(ens.n_events.sum())
    what = (f"{len(set(ens.sweep_columns['point'].tolist()))} sweep points, "
            if ens.sweep_columns else "")
    print(f"{ens.provenance.get('model_name')}: {what}{ens.n_trajectories} trajectories to "
          f"t = {args.t_end if t_end is None else t_end:g} s, seed {ens.seed}, {events:,} events in {seconds:.2f} s")
    print(f"results: {out}/ (read with stochsyn.read({str(out)!r}))")
    stopped = int(np.count_nonzero(ens.status))
    if final_table:
        _print_final(ens)
    for warning in caught:
        if issubclass(warning.category, BudgetWarning):
            _show_warning(warning.message, warning.category, warning.filename,
                          warning.lineno)
    if stopped and not args.allow_stopped:
        print(f"error: {stopped} of {ens.n_trajectories} trajectories stopped before --t-end "
              "(see above); pass --allow-stopped to accept them", file=sys.stderr)
        return _EXIT_STOPPED
    return 0


def _variants(model, names: list[str]):
    """``--variant NAME`` items applied with ``Model.with_variant`` (none: the model)."""
    return model.with_variant(*names) if names else model


_VARIANT_HELP = ("apply a named model variant (a mutation the model's modules declare, e.g. "
                 "--variant S831A, --variant T286A, --variant S831A/S845A; repeatable); "
                 "stochsyn info MODEL lists them")


def _cmd_run(args) -> int:
    import stochsyn as ss

    if args.first_trajectory + args.trajectories - 1 > _INT64_MAX:
        raise CommandError(f"--first-trajectory {args.first_trajectory} with --trajectories "
                           f"{args.trajectories} numbers trajectories past 2^63 - 1, the "
                           "largest index", "give a smaller --first-trajectory")
    if args.readout_after is None:
        if args.t_end is None:
            raise CommandError("run needs --t-end (or --readout-after for a plasticity run)",
                               "e.g. --t-end 600, or --protocol hfs --readout-after 3600")
        if len(args.protocol) > 1:
            raise CommandError(f"{len(args.protocol)} --protocol options without "
                               "--readout-after",
                               "a plasticity run takes several (--readout-after SECONDS, one "
                               "dataset each); stochsyn sweep runs them into one dataset")
    elif args.t_end is not None:
        raise CommandError("--t-end and --readout-after exclude each other: a plasticity run "
                           "ends each protocol at its own read-out",
                           "drop --t-end (each run lasts --warm-up + the protocol + "
                           "--readout-after)")
    overrides = _parameter_overrides(args.set)
    options = _run_options(args)
    model = _variants(ss.load_model(args.model), args.variant)
    if overrides:
        model = model.with_parameters(**overrides)
    model = _continuous(model, args.continuous, args.exact)
    out = _output_folder(args, Path("results") / Path(args.model).stem)
    if args.readout_after is not None:
        return _run_plasticity(args, model, options, out)
    protocol = ss.protocols.parse(args.protocol[0]) if args.protocol else None
    return _simulate_and_report(args, out, lambda executor: ss.simulate(
        model, n_trajectories=args.trajectories, first_trajectory=args.first_trajectory,
        out=out, protocol=protocol, executor=executor, **options))


def _protocol_folder(text: str) -> str:
    """A folder name for a protocol's dataset: its command-line text with every character
    that is not a letter, digit, ``.``, ``=`` or ``-`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_") or "rest"


def _run_plasticity(args, model, options: dict, out: Path) -> int:
    """``run --readout-after``: each ``--protocol`` (or rest without one) after a warm-up,
    its dataset in ``OUT/PROTOCOL/``, then the Δweight table of all of them, printed and
    written to ``OUT/delta_weight*.csv`` (:mod:`stochsyn.validation.plasticity`).

    Every protocol runs from the same root seed (trajectory i shares its random stream
    across protocols), its times counted from the end of the warm-up, until
    ``--readout-after`` seconds after its last spike.
    """
    import stochsyn as ss
    from stochsyn import trafficking
    from stochsyn.validation import plasticity

    if trafficking.WEIGHT not in model.observables:
        raise CommandError(f"--readout-after reads the synaptic weight (observable "
                           f"{trafficking.WEIGHT}), which {args.model} does not define",
                           "run a plasticity model such as reactions/spine.toml, or give "
                           "--t-end instead")
    if options["shard"] is not None:
        raise CommandError("--readout-after tabulates whole ensembles; it does not take "
                           "--shard", "run the slices with --t-end and join them with "
                           "stochsyn merge")
    after = args.readout_after
    warm_up = plasticity.WARM_UP_S if args.warm_up is None else args.warm_up
    every = options["sample_every"] or plasticity.SAMPLE_EVERY_S
    if not plasticity.is_multiple(warm_up, every):
        raise CommandError(f"--sample-every {every:g} does not divide --warm-up {warm_up:g}, "
                           "where the baseline is read",
                           f"e.g. --sample-every {plasticity.SAMPLE_EVERY_S:g}")
    conditions = [plasticity.Condition(name=text, protocol=ss.protocols.parse(text)
                                       .shifted(warm_up))
                  for text in args.protocol] or [plasticity.Condition(name="rest")]
    statuses = [0]

    def simulate_to_disk(logged, condition, readout, seed):
        folder = out / _protocol_folder(condition.name)
        run_options = {**options, "t_end": readout, "seed": seed, "sample_every": every,
                       "record_events": True}
        statuses.append(_simulate_and_report(
            args, folder, lambda executor: ss.simulate(
                logged, n_trajectories=args.trajectories,
                first_trajectory=args.first_trajectory, out=folder,
                protocol=condition.protocol, executor=executor, **run_options),
            t_end=readout, final_table=False))
        return ss.read(folder)

    # seed None: the first protocol's run draws it and the others reuse it
    run = plasticity.run_conditions(
        conditions, n_trajectories=args.trajectories, after_s=after, seed=options["seed"],
        sample_every=every, warm_up_s=warm_up, model=model,
        simulate_condition=simulate_to_disk)
    run.settings["model"] = str(args.model)
    seed = run.settings["seed"]
    summary = run.summary()
    print(f"\nΔweight {after:g} s after the end of each protocol (baseline: the end of a "
          f"{warm_up:g} s warm-up; seed {seed}):")
    print(plasticity.format_summary(summary))
    paths = plasticity.write_tables(run, out, "delta_weight")
    print(f"tables: {paths['summary']} (per protocol), {paths['trajectories'].name}, "
          f"{paths['timecourse'].name}")
    return max(statuses)


def _grid(items: list[str]) -> dict[str, list]:
    grid = {}
    for item in items:
        if "=" not in item:
            raise CommandError(f"--grid takes NAME=V1,V2,..., not {item!r}",
                               "e.g. --grid k_exo=0.05,0.1,0.2")
        name, values = item.split("=", 1)
        parsed = []
        for text in values.split(","):
            text = text.strip()
            try:
                parsed.append(float(text))
            except ValueError:
                parsed.append(text)
        if not any(str(v) for v in parsed):
            raise CommandError(f"--grid {name.strip()}= has no values",
                               f"e.g. --grid {name.strip()}=0.05,0.1")
        grid[name.strip()] = parsed
    return grid


def _cmd_sweep(args) -> int:
    import stochsyn as ss

    overrides = _parameter_overrides(args.set)
    grid = _grid(args.grid)
    if not grid and not args.protocol:
        raise CommandError("a sweep needs something to sweep",
                           "give --grid NAME=V1,V2,... and/or --protocol TEXT (repeatable)")
    options = _run_options(args)
    model = _variants(ss.load_model(args.model), args.variant)
    if overrides:
        model = model.with_parameters(**overrides)
    model = _continuous(model, args.continuous, args.exact)
    out = _output_folder(args, Path("results") / f"{Path(args.model).stem}-sweep")
    return _simulate_and_report(args, out, lambda executor: ss.sweep(
        model, grid, args.protocol or None, n_trajectories=args.trajectories, out=out,
        executor=executor, **options))


def _cmd_merge(args) -> int:
    from stochsyn import merge

    merged = merge(Path(args.out), [Path(s) for s in args.shards], overwrite=args.overwrite)
    n = sum(b[2] for b in merged["batches"])
    print(f"merged {len(args.shards)} shards into {args.out}/: {len(merged['batches'])} "
          f"batches, {n} trajectories")
    return 0


def _default_names(ens, names=None) -> list[str]:
    return list(names or []) or list(ens.observables) or list(ens.species)[:20]


def _print_final(ens, names=None) -> None:
    """Per name (and sweep point): the final sample's mean, sd and quantiles, and each
    trajectory's peak (mean ± sd) with the mean time of the peak. Works on one name's
    samples at a time, so a large dataset needs little memory."""
    import warnings

    import numpy as np

    names = _default_names(ens, names)
    if not names or not len(ens.times) or not ens.n_trajectories:
        return
    by, groups = ens.groups(None)
    rows = []
    for name in names:
        values = ens.values(name)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)       # all-NaN: stopped early
            peak = np.nanmax(values, axis=1)
            t_peak = np.where(np.isnan(peak), np.nan, ens.times[np.argmax(
                np.where(np.isnan(values), -np.inf, values), axis=1)])
            for key, selected in groups:
                final = values[selected, -1]
                final = final[~np.isnan(final)]
                quantiles = (_quantiles(final, (0.05, 0.5, 0.95)) if len(final)
                             else [np.nan] * 3)
                rows.append({**dict(zip(by, key)), "name": name, "n": len(final),
                             "mean": final.mean() if len(final) else np.nan,
                             "sd": final.std(ddof=1) if len(final) > 1 else np.nan,
                             "q05": quantiles[0], "q50": quantiles[1], "q95": quantiles[2],
                             "peak_mean": np.nanmean(peak[selected]),
                             "peak_sd": np.nanstd(peak[selected], ddof=1),
                             "t_peak_s": np.nanmean(t_peak[selected])})
        del values
    print(f"at t = {ens.times[-1]:g} s (final sample), and each trajectory's peak:")
    print(_text_table(rows, list(by) + ["name"]))


def _quantiles(values, qs) -> list[float]:
    """``np.quantile(values, qs)`` (its default, linear method) for a 1-D array without
    NaN, computed the way numpy computes it, to the bit: np.quantile calls np.unique,
    which imports numpy.ma (~0.03 s of a `stochsyn run`'s cold start)."""
    import numpy as np

    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = len(ordered)
    out = []
    for q in qs:
        q = np.float64(q)
        virtual = (n - 1) * q
        if virtual >= n - 1 or virtual < 0:     # numpy's ends: the extreme value itself
            out.append(ordered[n - 1] if virtual >= n - 1 else ordered[0])
            continue
        below = np.floor(virtual)
        gamma = virtual - below
        a, b = ordered[int(below)], ordered[int(below) + 1]
        diff = b - a
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    return out


def _text_table(rows: list[dict], labels: list[str]) -> str:
    """``rows`` as aligned text: the ``labels`` columns first, left-aligned, then the
    numbers right-aligned (``.4g``; NaN as such). Written out rather than through
    pandas, whose import took 0.3–0.8 s of every ``stochsyn run``."""
    def text(value):
        if isinstance(value, (int, np.integer)):
            return str(value)
        if isinstance(value, (float, np.floating)):
            return "NaN" if value != value else f"{value:.4g}"
        return str(value)

    import numpy as np

    columns = list(rows[0])
    cells = [[text(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[k]) for line in cells)) for k, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.ljust(w) if c in labels else v.rjust(w)
                         for v, w, c in zip(values, widths, columns)).rstrip()

    return "\n".join([line(columns)] + [line(values) for values in cells])


def _cmd_info(args) -> int:
    import stochsyn as ss

    model = _variants(ss.load_model(args.model), args.variant)
    print(_continuous(model, args.continuous, args.exact).info())
    return 0


def _cmd_export(args) -> int:
    import stochsyn as ss

    out = Path(args.out)
    if out.suffix.lower() not in (".xml", ".sbml"):
        raise CommandError(f"the output file {out.name!r} does not end in .xml or .sbml",
                           f"e.g. stochsyn export {args.model} {out.stem or 'model'}.xml")
    if out.is_dir():
        raise CommandError(f"the output file {out} is a folder", "give a file name ending "
                           "in .xml")
    model = ss.load_model(args.model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.to_sbml(out)
    for warning in caught:
        _show_warning(warning.message, warning.category, warning.filename, warning.lineno)
    print(f"wrote {out} (SBML Level 3 Version 2, {len(model.reactions)} reactions)")
    return 0


def _read(args, strict: bool = False):
    """The dataset of ``summarize`` and ``plot`` with the names asked for; an unknown name
    is a mistake of the command line, said with the closest name."""
    import stochsyn as ss
    from stochsyn import IncompleteDatasetWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IncompleteDatasetWarning)
        try:
            ens = ss.read(args.dataset, names=args.names or None, strict=strict)
        except KeyError as exc:        # an unknown name; the message has the closest one
            message, _, hint = str(exc.args[0]).partition("; ")
            raise CommandError(message, hint or None) from None
    for warning in caught:
        _show_warning(warning.message, warning.category, warning.filename, warning.lineno)
    return ens


def _cmd_summarize(args) -> int:
    import stochsyn as ss

    ens = _read(args, strict=args.strict)
    print(repr(ens))
    provenance = ens.provenance
    print(f"model {provenance.get('model_name')} (hash {str(provenance.get('model_hash'))[:12]}),"
          f" seed {provenance.get('seed')}, stochsyn {provenance.get('stochsyn_version')}")
    if args.events:
        events = ens.events()
        table = events.groupby(["rule"], observed=True).size().rename("records")
        print(f"{len(events):,} event records; per rule:")
        print(table.to_string())
    if args.csv:
        ens.describe(args.names or None).to_csv(args.csv)
        print(f"wrote {args.csv}")
    if args.summary_csv:
        ens.summary(args.names or None).to_csv(args.summary_csv, index=False)
        print(f"wrote {args.summary_csv}")
    if not args.csv and not args.summary_csv:
        _print_final(ens, args.names)
    return 0


def _cmd_plot(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CommandError(f"--out {out.name!r} does not end in .png, .svg or .pdf",
                           f"e.g. --out {out.stem or 'figure'}.png")
    ens = _read(args)
    try:
        figure = ens.plot(args.names or None, n_examples=args.examples, band=args.band)
    except ImportError:
        raise CommandError("plot needs matplotlib, which is not installed",
                           "pip install 'stochsyn[analysis]'") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=150, bbox_inches="tight")
    print(f"wrote {out}")
    return 0


def _cmd_validate(args) -> int:
    from .validation import dsmts

    cases = args.cases or None
    if cases and not args.sbml_dir:
        for case in cases:
            try:
                dsmts.load_case(case)
            except KeyError:
                raise CommandError(f"--cases: there is no bundled DSMTS case {case!r}",
                                   "bundled cases: " + ", ".join(dsmts.case_ids())) from None
    if args.sbml_dir:
        # the same test from the suite's original SBML files (needs python-libsbml)
        from .validation import dsmts_sbml
        table = dsmts_sbml.run_suite(args.sbml_dir, cases=cases,
                                     n_trajectories=args.trajectories, seed=args.seed,
                                     progress=not args.no_progress, n_threads=args.threads)
    else:
        table = dsmts.run_suite(n_trajectories=args.trajectories, seed=args.seed, cases=cases,
                                progress=not args.no_progress, n_threads=args.threads)
    print(dsmts.format_table(table))
    return 0 if (table["verdict"] == "PASS").all() else 1


def _add_run_options(command, t_end_required: bool = True) -> None:
    """Options shared by run and sweep."""
    command.add_argument("--t-end", type=_seconds(positive=False), required=t_end_required,
                         help="end time (s)" + ("" if t_end_required else
                                                "; not with --readout-after"))
    command.add_argument("--seed", type=_whole(0, None), default=None,
                         help="root seed (default: fresh, printed and stored with the "
                              "results)")
    command.add_argument("--sample-every", type=_seconds(positive=True), default=None,
                         help="sampling interval (s); default: 101 samples over [0, t-end]")
    command.add_argument("--record-events", action="store_true",
                         help="keep event records of rules marked log = true")
    command.add_argument("--max-events", type=_whole(1), default=10**9,
                         help="event budget per trajectory")
    command.add_argument("--max-wall", type=_seconds(positive=True), default=None,
                         metavar="SECONDS",
                         help="wall-clock budget of the whole run: trajectories in flight "
                              "then stop (status 'interrupted'), finished batches are kept, "
                              "--resume finishes the run later")
    command.add_argument("--allow-stopped", action="store_true",
                         help="exit 0 even if trajectories stopped before t-end (budget, "
                              "model problem); without it such a run exits with status 3")
    command.add_argument("--threads", type=_whole(1), default=None,
                         help="threads (default: all cores; 1 per Dask worker)")
    command.add_argument("--batch-size", type=_whole(1), default=None,
                         help="trajectories per batch: the unit of work, of a file and of "
                              "a resume (default 1000)")
    command.add_argument("--resume", action="store_true",
                         help="finish an interrupted run in --out: keep its intact batches, "
                              "redo missing, broken or interrupted ones")
    command.add_argument("--overwrite", action="store_true",
                         help="replace the dataset already in --out")
    command.add_argument("--shard", default=None, metavar="i/N",
                         help="run only slice i of N (0 <= i < N) of the batches, e.g. "
                              "--shard $SLURM_ARRAY_TASK_ID/64; join the slices' folders "
                              "with 'stochsyn merge'")
    command.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="send the batches to this Dask scheduler (tcp://host:8786)")
    command.add_argument("--workers", type=_whole(1), default=None, metavar="N",
                         help="start a local Dask cluster of N worker processes")
    command.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                         help="override a parameter, e.g. --set k_exo='0.1 /s' (repeatable); "
                              "a plain number is taken in the unit the model file writes "
                              "the parameter in (stochsyn info MODEL shows it)")
    command.add_argument("--variant", action="append", default=[], metavar="NAME",
                         help=_VARIANT_HELP)
    command.add_argument("--continuous", default=None, metavar="NAMES",
                         help="hybrid mode: these species are continuous (deterministic "
                              "between events), e.g. --continuous Ca,B,CaB; 'none' makes a "
                              "model that declares [continuous] exact "
                              "(docs/model-format.md)")
    command.add_argument("--exact", action="store_true",
                         help="the fully exact run: every species counted, every reaction "
                              "an event, whatever [continuous] the model declares "
                              "(= --continuous none)")
    command.add_argument("--quiet", "--no-progress", action="store_true", dest="quiet",
                         help="no progress bar and no notices")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stochsyn",
        description="Exact, agent-based stochastic simulation of synaptic plasticity.",
        epilog="Inputs are checked against size limits before any work (a model file of at "
               "most 10 MB, 100,000 agent states, 10 million sample times, ...; "
               "docs/model-format.md, 'Limits'). Each can be raised with an environment "
               "variable, e.g. STOCHSYN_MAX_FILE_MB=100 stochsyn info big.toml. Exit status: "
               "0 done, 2 a mistake in the input (one line says what and where, one how to "
               "fix it), 3 trajectories stopped early (run, sweep), 1 results could not be "
               "written (finished batches are kept), 130 interrupted, 70 a bug in stochsyn.")
    from ._version import __version__
    parser.add_argument("--version", action="version", version=f"stochsyn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="simulate an ensemble and write a Parquet dataset")
    run.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    run.add_argument("--trajectories", type=_whole(1), default=100,
                     help="number of trajectories")
    run.add_argument("--first-trajectory", type=_whole(0), default=0,
                     help="global index of the first trajectory")
    run.add_argument("--out", default=None,
                     help="output folder (Parquet dataset); default results/MODELNAME")
    run.add_argument("--protocol", action="append", default=[], metavar="TEXT",
                     help="stimulation, e.g. 'voltage_step:hold_mv=-70,step_mv=40,"
                          "step_at_s=0.01' or 'lfs+apv' (stochsyn.protocols.parse); "
                          "repeatable with --readout-after")
    run.add_argument("--readout-after", type=_seconds(positive=False), default=None,
                     metavar="SECONDS",
                     help="a plasticity run: each --protocol (rest without one) after "
                          "--warm-up, read SECONDS after its last spike, one dataset per "
                          "protocol in OUT/PROTOCOL/, and the table of the synaptic weight "
                          "change (mean, SE, 95%% CI, fractions potentiated/depressed) printed "
                          "and written to OUT/delta_weight.csv; needs the weight observable "
                          "(reactions/spine.toml)")
    run.add_argument("--warm-up", type=_seconds(positive=False), default=None,
                     metavar="SECONDS",
                     help="with --readout-after: rest before the protocol, whose times count "
                          "from here; the baseline weight is read at its end (default "
                          "stochsyn.validation.plasticity.WARM_UP_S, 1800: the pools of "
                          "reactions/spine.toml settle in ~25-30 min)")
    _add_run_options(run, t_end_required=False)
    run.set_defaults(func=_cmd_run)

    sweep = commands.add_parser(
        "sweep", help="simulate a grid of parameter values x protocols into one dataset")
    sweep.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    sweep.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                       help="parameter values to sweep, e.g. --grid k_exo=0.05,0.1,0.2 or "
                            "--grid \"k_exo=0.05 /s,0.1 /s\" (repeatable: the product)")
    sweep.add_argument("--protocol", action="append", default=[], metavar="TEXT",
                       help="a protocol of the sweep (repeatable), e.g. --protocol hfs "
                            "--protocol lfs")
    sweep.add_argument("--trajectories", type=_whole(1), default=100,
                       help="trajectories per sweep point")
    sweep.add_argument("--out", default=None,
                       help="output folder; default results/MODELNAME-sweep")
    _add_run_options(sweep)
    sweep.set_defaults(func=_cmd_sweep)

    merge = commands.add_parser("merge", help="join the folders of --shard i/N runs")
    merge.add_argument("out", help="the merged dataset's folder")
    merge.add_argument("shards", nargs="+", help="the shards' folders (all N of them)")
    merge.add_argument("--overwrite", action="store_true",
                       help="replace a dataset already in OUT")
    merge.set_defaults(func=_cmd_merge)

    info = commands.add_parser("info", help="show a model after rule expansion")
    info.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    info.add_argument("--continuous", default=None, metavar="NAMES",
                      help="show the model in the hybrid mode with these continuous species "
                           "(each reaction's role: ODE term, flux, coupled, jump); 'none': "
                           "exact")
    info.add_argument("--exact", action="store_true",
                      help="show the model as the exact mode runs it (= --continuous none)")
    info.add_argument("--variant", action="append", default=[], metavar="NAME",
                      help=_VARIANT_HELP)
    info.set_defaults(func=_cmd_info)

    export = commands.add_parser("export", help="write a model as SBML Level 3 Version 2")
    export.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    export.add_argument("out", help="output SBML file (.xml)")
    export.set_defaults(func=_cmd_export)

    summarize = commands.add_parser(
        "summarize", help="statistics of a results dataset (per sweep point)")
    summarize.add_argument("dataset", help="folder written by 'stochsyn run' or 'sweep'")
    summarize.add_argument("names", nargs="*", help="species or observables (default: all)")
    summarize.add_argument("--csv", default=None,
                           help="write mean/sd/sem/quantiles per (sweep point,) time and name")
    summarize.add_argument("--summary-csv", default=None,
                           help="write one row per trajectory: final value, peak, time of "
                                "the peak")
    summarize.add_argument("--events", action="store_true",
                           help="also read the event records and count them per rule")
    summarize.add_argument("--strict", action="store_true",
                           help="fail (instead of warning) if the dataset is incomplete")
    summarize.set_defaults(func=_cmd_summarize)

    plot = commands.add_parser(
        "plot", help="mean ± sd bands and a few trajectories of a dataset (needs matplotlib)")
    plot.add_argument("dataset", help="folder written by 'stochsyn run' or 'sweep'")
    plot.add_argument("--names", nargs="+", default=None,
                      help="species or observables (default: the observables)")
    plot.add_argument("--out", required=True, help="figure file (.png, .svg or .pdf)")
    plot.add_argument("--examples", type=_whole(0, 1000), default=3,
                      help="single trajectories drawn per panel (default 3)")
    plot.add_argument("--band", choices=["sd", "sem"], default="sd",
                      help="band around the mean (default sd)")
    plot.set_defaults(func=_cmd_plot)

    validate = commands.add_parser("validate", help="run a built-in correctness suite")
    validate.add_argument("suite", choices=["dsmts"],
                          help="dsmts: the SBML Discrete Stochastic Models Test Suite")
    validate.add_argument("--trajectories", type=_whole(2), default=10_000)
    validate.add_argument("--seed", type=_whole(0, None), default=20260601)
    validate.add_argument("--cases", nargs="*", default=None, help="case ids (default: all)")
    validate.add_argument("--threads", type=_whole(1), default=None)
    validate.add_argument("--sbml-dir", default=None, metavar="DIR",
                          help="read the cases from the original DSMTS SBML files in DIR "
                               "(NNNNN-sbml-l3v1.xml, -settings.txt, -results.csv)")
    validate.add_argument("--no-progress", action="store_true")
    validate.set_defaults(func=_cmd_validate)
    return parser


#: Messages of the library that name both the Python argument and the option
#: ("pass resume=True (--resume)") are shown with the option only.
_PYTHON_TERMS = ((re.compile(r"\b\w+=True \((--[\w-]+)\)"), r"\1"),
                 (re.compile(r" \((?:simulate|sweep)\(\.\.\., \w+=True\)\)"), ""))


def _in_command_terms(text: str) -> str:
    from .model.errors import shorten
    for pattern, replacement in _PYTHON_TERMS:
        text = pattern.sub(replacement, text)
    return shorten(text.strip())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as ``warning: …`` lines, without the source line Python would print."""
    print(f"warning: {_in_command_terms(str(message))}",
          file=sys.stderr if file is None else file)


def _expected_errors() -> tuple[type, ...]:
    """The exceptions that are answers to bad input (printed without a traceback): model
    and protocol errors, limits, command-line slips, I/O errors (a missing dataset, a
    folder that cannot be created), a dataset of another run, a run that could not
    produce valid trajectories."""
    from .limits import LimitError
    from .model.errors import ModelError
    expected = [ModelError, LimitError, CommandError, OSError]
    # the modules not imported yet cannot have raised (and need not be imported now)
    for module, name in (("stochsyn.protocols", "ProtocolError"),
                         ("stochsyn.ensemble", "SimulationError"),
                         ("stochsyn.dataset", "DatasetError"),
                         ("stochsyn.results", "IncompleteDatasetError")):
        if module in sys.modules:
            expected.append(getattr(sys.modules[module], name))
    return tuple(expected)


def _print_error(exc: BaseException) -> None:
    """``error: what is wrong, where`` and, when there is one, ``  hint: what to do``."""
    from .model.errors import ModelError
    hint = getattr(exc, "hint", None)
    if isinstance(exc, ModelError):
        text = f"{exc.location}: {exc.message}" if exc.location else str(exc.message)
    elif isinstance(exc, CommandError) or (hint and hasattr(exc, "message")):
        text = exc.message
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    else:
        text = str(exc)
    print(f"error: {_in_command_terms(text)}", file=sys.stderr)
    if hint:
        hint = _in_command_terms(str(hint))
        print(f"  hint: {hint[:1].upper() + hint[1:]}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stochsyn`` command; returns the exit status (0 done, 2 a
    mistake in the input, 3 trajectories stopped early, 1 results could not be written,
    130 interrupted, 70 a bug in stochsyn)."""
    if argv is None:
        # Run as the command. Nothing in it calls BLAS (the kernels are numba's; the model's
        # conservation analysis is on small matrices), but numpy's OpenBLAS starts a
        # thread per core when numpy is imported: ~50 ms of CPU on 2 cores, a seventh of a
        # small run's start (benchmarks/RESULTS.md, issue 18), and threads that would only
        # compete with the kernels'. A user's own setting is kept.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        return _main(argv)
    finally:
        if argv is None:
            # Run as the command: the process ends now. Python's last garbage collection
            # at exit walks every object numba, llvmlite and pyarrow made (~0.15-0.2 s of
            # CPU, a fifth of a small run); frozen objects are skipped. Nothing is left
            # to collect that matters: results are written and closed by now, and
            # stdout and stderr are flushed at exit as usual.
            gc.freeze()


def _main(argv: list[str] | None) -> int:
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        args = build_parser().parse_args(argv)
        try:
            return args.func(args)
        except KeyboardInterrupt as exc:          # also RunInterrupted, which says more
            message = str(exc) if str(exc) else "interrupted"
            print(f"\n{_in_command_terms(message)}", file=sys.stderr)
            return _EXIT_INTERRUPTED
        except BrokenPipeError:
            # The reader went away (`stochsyn info MODEL | head`): stop quietly, and keep
            # Python from complaining again when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except MemoryError:
            print("error: out of memory", file=sys.stderr)
            print("  hint: run fewer trajectories per batch (--batch-size), sample less often "
                  "(--sample-every) or use a smaller model", file=sys.stderr)
            return _EXIT_BAD_INPUT
        except Exception as exc:  # noqa: BLE001 - sorted into bad input and bugs below
            writing = sys.modules.get("stochsyn.dataset")
            if writing is not None and isinstance(exc, writing.DatasetWriteError):
                print(f"error: {_in_command_terms(exc.strerror or str(exc))}; finished batches "
                      "are kept: free space or fix the folder, then run the same command "
                      "with --resume", file=sys.stderr)
                return _EXIT_WRITE_FAILED
            if isinstance(exc, _expected_errors()):
                _print_error(exc)
                return _EXIT_BAD_INPUT
            import traceback
            traceback.print_exc()
            from ._version import __version__
            print(f"stochsyn {__version__}: this is a bug in stochsyn, not a mistake in your "
                  "input; please report it with the traceback above, the command and the "
                  "model file", file=sys.stderr)
            return _EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
