"""The ``stochsyn`` command: run, info, export, summarize, validate.

Every command answers a mistake with one line saying what is wrong and where, then a line
with a hint, and exit status 2; the messages use the command's own terms (options such as
``--t-end``, never the Python names behind them). An error that is not a mistake of the
input is a bug: its traceback is shown with a request to report it (exit status 1).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

from . import limits

_EXIT_BAD_INPUT = 2
_EXIT_BUG = 1
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


def _output_folder(args) -> Path:
    """The results folder of ``run`` (``--out``, default results/MODELNAME), checked before
    the run: not a file, not holding a run unless ``--resume``, and creatable (the folders
    this check creates are removed again: a run that is refused leaves nothing behind)."""
    out = Path(args.out) if args.out else Path("results") / Path(args.model).stem
    option = f"--out {out}" if args.out else f"the results folder {out} (default)"
    if out.exists() and not out.is_dir():
        raise CommandError(f"{option} is a file, not a folder",
                           "give --out a folder name; it is created")
    if (out / "manifest.json").exists() and not args.resume:
        raise CommandError(f"{option} already holds the results of a run",
                           "add --resume to finish that run, or give --out another folder")
    missing = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{option}: cannot create the folder ({exc.strerror or exc})",
                           "give --out a folder you can write to") from None
    for folder in missing:                    # innermost first
        folder.rmdir()
    return out


def _continuous(model, text):
    """The model with ``--continuous`` applied: names separated by commas or spaces;
    "none" (or "") makes it exact."""
    if text is None:
        return model
    names = [n for n in text.replace(",", " ").split() if n]
    return model.with_continuous([] if names == ["none"] else names)


def _cmd_run(args) -> int:
    import stochsyn as ss

    if args.first_trajectory + args.trajectories - 1 > _INT64_MAX:
        raise CommandError(f"--first-trajectory {args.first_trajectory} with --trajectories "
                           f"{args.trajectories} numbers trajectories past 2^63 - 1, the "
                           "largest index", "give a smaller --first-trajectory")
    overrides = _parameter_overrides(args.set)
    model = ss.load_model(args.model)
    if overrides:
        model = model.with_parameters(**overrides)
    model = _continuous(model, args.continuous)
    protocol = ss.protocols.parse(args.protocol) if args.protocol else None
    out = _output_folder(args)
    start = time.perf_counter()
    ens = ss.simulate(
        model, t_end=args.t_end, n_trajectories=args.trajectories, seed=args.seed,
        sample_every=args.sample_every, record_events=args.record_events,
        max_events=args.max_events, n_threads=args.threads, batch_size=args.batch_size,
        first_trajectory=args.first_trajectory, progress=not args.no_progress, out=out,
        resume=args.resume, protocol=protocol)
    import numpy as np
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

    print(_continuous(ss.load_model(args.model), args.continuous).info())
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
        print(f"warning: {warning.message}", file=sys.stderr)
    print(f"wrote {out} (SBML Level 3 Version 2, {len(model.reactions)} reactions)")
    return 0


def _cmd_summarize(args) -> int:
    import stochsyn as ss

    ens = ss.read(args.dataset)
    for name in args.names:
        if name not in ens.names:
            from .model.errors import closest
            close = closest(name, ens.names)
            raise CommandError(f"{args.dataset} has no species or observable named {name!r}",
                               f"did you mean {close!r}?" if close else
                               "names: " + ", ".join(list(ens.names)[:20])
                               + (", ..." if len(ens.names) > 20 else ""))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stochsyn",
        description="Exact, agent-based stochastic simulation of synaptic plasticity.",
        epilog="Inputs are checked against size limits before any work (a model file of at "
               "most 10 MB, 100,000 agent states, 10 million sample times, ...; "
               "docs/model-format.md, 'Limits'). Each can be raised with an environment "
               "variable, e.g. STOCHSYN_MAX_FILE_MB=100 stochsyn info big.toml. Exit status: "
               "0 done, 2 a mistake in the input (one line says what and where, one how to "
               "fix it), 1 a bug in stochsyn.")
    from ._version import __version__
    parser.add_argument("--version", action="version", version=f"stochsyn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="simulate an ensemble and write a Parquet dataset")
    run.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    run.add_argument("--t-end", type=_seconds(positive=False), required=True,
                     help="end time (s)")
    run.add_argument("--trajectories", type=_whole(1), default=100,
                     help="number of trajectories")
    run.add_argument("--seed", type=_whole(0, None), default=None,
                     help="root seed, a whole number >= 0 (default: fresh, printed and stored "
                          "with the results)")
    run.add_argument("--sample-every", type=_seconds(positive=True), default=None,
                     help="sampling interval (s); default: 101 samples over [0, t-end]")
    run.add_argument("--out", default=None,
                     help="output folder (Parquet dataset); default results/MODELNAME")
    run.add_argument("--record-events", action="store_true",
                     help="keep event records of rules marked log = true")
    run.add_argument("--max-events", type=_whole(1), default=10**9,
                     help="event budget per trajectory")
    run.add_argument("--threads", type=_whole(1), default=None,
                     help="threads (default: all cores)")
    run.add_argument("--batch-size", type=_whole(1), default=None,
                     help="trajectories per batch (and per file)")
    run.add_argument("--first-trajectory", type=_whole(0), default=0,
                     help="global index of the first trajectory (to shard a run over jobs)")
    run.add_argument("--resume", action="store_true",
                     help="finish an interrupted run in --out, keeping its finished batches")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override a parameter, e.g. --set k_exo='0.1 /s' (repeatable); a "
                          "plain number is taken in the unit the model file writes the "
                          "parameter in (stochsyn info MODEL shows it)"),
    run.add_argument("--protocol", default=None, metavar="TEXT",
                     help="stimulation, e.g. 'voltage_step:hold_mv=-70,step_mv=40,"
                          "step_at_s=0.01' or 'lfs+apv' (stochsyn.protocols.parse)")
    run.add_argument("--continuous", default=None, metavar="NAMES",
                     help="hybrid mode: these species are continuous (deterministic between "
                          "events), e.g. --continuous Ca,B,CaB; 'none' makes a model that "
                          "declares [continuous] exact (docs/model-format.md)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    info = commands.add_parser("info", help="show a model after rule expansion")
    info.add_argument("model", help="model file (.toml, or SBML .xml/.sbml)")
    info.add_argument("--continuous", default=None, metavar="NAMES",
                      help="show the model in the hybrid mode with these continuous species "
                           "(each reaction's role: ODE term, coupled, jump)")
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


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as ``warning: …`` lines, without the source line Python would print."""
    from .model.errors import shorten
    print(f"warning: {shorten(str(message))}", file=sys.stderr if file is None else file)


def _expected_errors() -> tuple[type, ...]:
    """The exceptions that are answers to bad input (printed without a traceback): model
    and protocol errors, limits, stopped runs, command-line slips, and I/O errors (a
    missing dataset, a full disk, a folder that cannot be written)."""
    from .limits import LimitError
    from .model.errors import ModelError
    expected = [ModelError, LimitError, CommandError, OSError]
    # the modules not imported yet cannot have raised (and need not be imported now)
    if "stochsyn.protocols" in sys.modules:
        expected.append(sys.modules["stochsyn.protocols"].ProtocolError)
    if "stochsyn.ensemble" in sys.modules:
        expected.append(sys.modules["stochsyn.ensemble"].SimulationError)
    return tuple(expected)


def _print_error(exc: BaseException) -> None:
    """``error: what is wrong, where`` and, when there is one, ``  hint: what to do``."""
    from .model.errors import ModelError, shorten
    hint = getattr(exc, "hint", None)
    if isinstance(exc, ModelError):
        text = f"{exc.location}: {exc.message}" if exc.location else str(exc.message)
    elif isinstance(exc, CommandError):
        text = exc.message
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    else:
        text = str(exc)
    print(f"error: {shorten(text.strip())}", file=sys.stderr)
    if hint:
        hint = shorten(str(hint).strip())
        print(f"  hint: {hint[:1].upper() + hint[1:]}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stochsyn`` command; returns the exit status (0 done, 2 bad
    input or a run that could not finish, 1 a bug, 130 interrupted)."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        args = build_parser().parse_args(argv)
        try:
            return args.func(args)
        except KeyboardInterrupt:
            print("interrupted; finished batches are kept (use --resume to finish the run)",
                  file=sys.stderr)
            return 130
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
