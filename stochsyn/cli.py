"""The ``stochsyn`` command: run, info, export, summarize, validate."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

_EXIT_BAD_INPUT = 2


def _parameter_overrides(items: list[str]) -> dict[str, str]:
    overrides = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set takes NAME=VALUE (e.g. --set k_exo='0.1 /s'), not {item!r}")
        name, value = item.split("=", 1)
        overrides[name.strip()] = value.strip()
    return overrides


def _continuous(model, text, exact=False):
    """The model with ``--continuous`` applied (names separated by commas or spaces;
    "none" or "" makes it exact), or exact with ``--exact``."""
    if exact:
        if text is not None:
            raise ValueError("give either --exact or --continuous, not both")
        return model.with_continuous([])
    if text is None:
        return model
    names = [n for n in text.replace(",", " ").split() if n]
    return model.with_continuous([] if names == ["none"] else names)


def _cmd_run(args) -> int:
    import numpy as np

    import stochsyn as ss

    model = ss.load_model(args.model)
    if args.set:
        model = model.with_parameters(**_parameter_overrides(args.set))
    model = _continuous(model, args.continuous, args.exact)
    protocol = ss.protocols.parse(args.protocol) if args.protocol else None
    out = Path(args.out) if args.out else Path("results") / Path(args.model).stem
    start = time.perf_counter()
    ens = ss.simulate(
        model, t_end=args.t_end, n_trajectories=args.trajectories, seed=args.seed,
        sample_every=args.sample_every, record_events=args.record_events,
        max_events=args.max_events, n_threads=args.threads, batch_size=args.batch_size,
        first_trajectory=args.first_trajectory, progress=not args.no_progress, out=out,
        resume=args.resume, protocol=protocol)
    seconds = time.perf_counter() - start
    events = int(ens.n_events.sum())
    print(f"{model.name}: {ens.n_trajectories} trajectories to t = {args.t_end:g} s, "
          f"seed {ens.seed}, {events:,} events in {seconds:.2f} s "
          f"({events / max(seconds, 1e-9) / 1e6:.1f} M events/s)")
    print(f"results: {out}/ (read with stochsyn.read({str(out)!r}))")
    stopped = int(np.count_nonzero(ens.status))
    if stopped:
        print(f"warning: {stopped} trajectories stopped early; see the 'status' column of "
              "ens.summary()", file=sys.stderr)
    _print_final(ens)
    return 0


def _print_final(ens, names=None) -> None:
    names = list(names or []) or list(ens.observables) or list(ens.species)[:20]
    if not names or not len(ens.times):
        return
    table = ens.describe(names)
    final = table.xs(ens.times[-1], level="time")[["mean", "sd", "q05", "q50", "q95"]]
    print(f"at t = {ens.times[-1]:g} s:")
    print(final.to_string(float_format=lambda v: f"{v:.4g}"))


def _cmd_info(args) -> int:
    import stochsyn as ss

    print(_continuous(ss.load_model(args.model), args.continuous, args.exact).info())
    return 0


def _cmd_export(args) -> int:
    import warnings

    import stochsyn as ss

    model = ss.load_model(args.model)
    out = Path(args.out)
    if out.suffix.lower() not in (".xml", ".sbml"):
        raise ValueError(f"the output file must end in .xml or .sbml, not {out.name!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.to_sbml(out)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(f"wrote {out} (SBML Level 3 Version 2, {len(model.reactions)} reactions)")
    return 0


def _cmd_summarize(args) -> int:
    import stochsyn as ss

    ens = ss.read(args.dataset)
    print(repr(ens))
    provenance = ens.provenance
    print(f"model {provenance.get('model_name')} (hash {str(provenance.get('model_hash'))[:12]}),"
          f" seed {provenance.get('seed')}, stochsyn {provenance.get('stochsyn_version')}")
    table = ens.describe(args.names or None)
    if args.csv:
        table.to_csv(args.csv)
        print(f"wrote {args.csv}")
    else:
        _print_final(ens, args.names)
    return 0


def _cmd_validate(args) -> int:
    from .validation import dsmts

    cases = args.cases or None
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stochsyn",
        description="Exact, agent-based stochastic simulation of synaptic plasticity.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"stochsyn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="simulate an ensemble and write a Parquet dataset")
    run.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    run.add_argument("--t-end", type=float, required=True, help="end time (s)")
    run.add_argument("--trajectories", type=int, default=100, help="number of trajectories")
    run.add_argument("--seed", type=int, default=None,
                     help="root seed (default: fresh, printed and stored with the results)")
    run.add_argument("--sample-every", type=float, default=None,
                     help="sampling interval (s); default: 101 samples over [0, t-end]")
    run.add_argument("--out", default=None,
                     help="output folder (Parquet dataset); default results/MODELNAME")
    run.add_argument("--record-events", action="store_true",
                     help="keep event records of rules marked log = true")
    run.add_argument("--max-events", type=int, default=10**9,
                     help="event budget per trajectory")
    run.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    run.add_argument("--batch-size", type=int, default=None,
                     help="trajectories per batch (and per file)")
    run.add_argument("--first-trajectory", type=int, default=0,
                     help="global index of the first trajectory (to shard a run over jobs)")
    run.add_argument("--resume", action="store_true",
                     help="finish an interrupted run in --out, keeping its finished batches")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override a parameter, e.g. --set k_exo='0.1 /s' (repeatable)")
    run.add_argument("--protocol", default=None, metavar="TEXT",
                     help="stimulation, e.g. 'voltage_step:hold_mv=-70,step_mv=40,"
                          "step_at_s=0.01' or 'lfs+apv' (stochsyn.protocols.parse)")
    run.add_argument("--continuous", default=None, metavar="NAMES",
                     help="hybrid mode: these species are continuous (deterministic between "
                          "events), e.g. --continuous Ca,B,CaB; 'none' makes a model that "
                          "declares [continuous] exact (docs/model-format.md)")
    run.add_argument("--exact", action="store_true",
                     help="the fully exact run: every species counted, every reaction an "
                          "event, whatever [continuous] the model declares (= --continuous "
                          "none)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    info = commands.add_parser("info", help="show a model after rule expansion")
    info.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    info.add_argument("--continuous", default=None, metavar="NAMES",
                      help="show the model in the hybrid mode with these continuous species "
                           "(each reaction's role: ODE term, flux, coupled, jump); 'none': "
                           "exact")
    info.add_argument("--exact", action="store_true",
                      help="show the model as the exact mode runs it (= --continuous none)")
    info.set_defaults(func=_cmd_info)

    export = commands.add_parser("export", help="write a model as SBML Level 3 Version 2")
    export.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    export.add_argument("out", help="output SBML file (.xml)")
    export.set_defaults(func=_cmd_export)

    summarize = commands.add_parser("summarize", help="statistics of a results dataset")
    summarize.add_argument("dataset", help="folder written by 'stochsyn run'")
    summarize.add_argument("names", nargs="*", help="species or observables (default: all)")
    summarize.add_argument("--csv", default=None, help="write mean/sd/quantiles per time here")
    summarize.set_defaults(func=_cmd_summarize)

    validate = commands.add_parser("validate", help="run a built-in correctness suite")
    validate.add_argument("suite", choices=["dsmts"],
                          help="dsmts: the SBML Discrete Stochastic Models Test Suite")
    validate.add_argument("--trajectories", type=int, default=10_000)
    validate.add_argument("--seed", type=int, default=20260601)
    validate.add_argument("--cases", nargs="*", default=None, help="case ids (default: all)")
    validate.add_argument("--threads", type=int, default=None)
    validate.add_argument("--sbml-dir", default=None, metavar="DIR",
                          help="read the cases from the original DSMTS SBML files in DIR "
                               "(NNNNN-sbml-l3v1.xml, -settings.txt, -results.csv)")
    validate.add_argument("--no-progress", action="store_true")
    validate.set_defaults(func=_cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stochsyn`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    from .ensemble import SimulationError
    from .model.errors import ModelError
    try:
        return args.func(args)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return _EXIT_BAD_INPUT
    except (ValueError, FileExistsError, FileNotFoundError, SimulationError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return _EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; finished batches are kept (use --resume to finish the run)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`stochsyn info MODEL | head`): stop quietly, and keep Python
        # from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
