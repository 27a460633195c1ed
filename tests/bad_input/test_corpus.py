"""The bad-input corpus (cases.toml) through the real command line, one process per case.

Every case runs ``stochsyn ARGS`` in its own process, with an address-space limit of 1 GiB
and a CPU limit of 10 s (``resource.setrlimit`` in ``preexec_fn``), and a wall-clock limit
for inputs that block without using CPU (a named pipe). It must end with exit status 2,
print no Python traceback, nothing from numba or libsbml's internals and no Python names
of the API (the command's options are the user's terms), name the place,
the problem and a fix (the case's fragments), and leave no trace of executed input: no file
``pwned`` in its working directory, no results folder.

The processes are started from the main thread only (``preexec_fn`` is not safe with
threads) and run several at a time; the whole corpus takes about 30 CPU-seconds.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import generate

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CASES = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))["case"]

#: The classes of mistake the corpus must cover (issue 16), each by several cases.
CLASSES = ("recursion", "overflow", "resources", "command-line sizes", "echo", "empty",
           "includes", "sbml", "slips", "units", "injection", "foundation")
MEMORY_BYTES = 2 ** 30
CPU_SECONDS = 10
WALL_SECONDS = 60          # a loaded machine; CPU_SECONDS bounds the work itself
PARALLEL = max(2, min(4, 2 * (os.cpu_count() or 1)))
#: What must never reach the user: tracebacks, numba's and libsbml's internals.
INTERNALS = re.compile(r"Traceback|File \"/|numba\.core|NumbaError|TypingError|"
                       r"LoweringError|nopython|llvmlite|libsbml error 0|Unrecognized error|"
                       r"RecursionError|MemoryError|This is a bug|this is a bug")
#: Python names a command-line user must never be told (the options are the terms).
API_NAMES = re.compile(r"\b\w+=True\b|\b(?:simulate|sweep|with_parameters|load_model|"
                       r"new_root_seed|from_dict)\(|\bn_trajectories\b|\bsample_every\b")
LONG_NAME = "x" * 100_000          # one argument may hold at most 128 KiB (MAX_ARG_STRLEN)


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str
    seconds: float
    folder: Path


def _command() -> list[str]:
    script = Path(sys.executable).with_name("stochsyn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stochsyn.cli"]


def _limit_resources():
    """Runs in the child between fork and exec."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _fill(text: str, folder: Path) -> str:
    return (text.replace("{here}", str(HERE)).replace("{data}", str(REPO / "tests" / "data"))
            .replace("{repo}", str(REPO)).replace("{tmp}", str(folder))
            .replace("{long_name}", LONG_NAME))


def _start(case: dict, folder: Path):
    folder.mkdir(parents=True)
    if "generate" in case:
        getattr(generate, case["generate"])(folder)
    env = dict(os.environ, **case.get("env", {}))
    env.pop("COLUMNS", None)
    stdout = open(folder / ".stdout", "w+", encoding="utf-8")
    stderr = open(folder / ".stderr", "w+", encoding="utf-8")
    process = subprocess.Popen(_command() + [_fill(arg, folder) for arg in case["argv"]],
                               cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                               stderr=stderr, preexec_fn=_limit_resources)
    return process, time.monotonic(), stdout, stderr


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("bad_input")
    pending, running, done = list(CASES), {}, {}
    while pending or running:
        while pending and len(running) < PARALLEL:
            case = pending.pop(0)
            running[case["name"]] = _start(case, root / case["name"])
        time.sleep(0.02)
        for name, (process, start, stdout, stderr) in list(running.items()):
            seconds = time.monotonic() - start
            if process.poll() is None and seconds < WALL_SECONDS:
                continue
            if process.poll() is None:
                process.kill()
                process.wait()
            stdout.seek(0), stderr.seek(0)
            done[name] = Outcome(process.returncode, stdout.read(), stderr.read(), seconds,
                                 root / name)
            stdout.close(), stderr.close()
            del running[name]
    return done


def test_the_corpus_is_large_and_covers_every_class():
    names = [case["name"] for case in CASES]
    assert len(names) >= 60 and len(set(names)) == len(names)
    assert {case["covers"] for case in CASES} == set(CLASSES)
    for cls in CLASSES:
        assert sum(case["covers"] == cls for case in CASES) >= 2, cls
    for case in CASES:
        assert set(case) <= {"name", "covers", "argv", "place", "problem", "fix",
                             "generate", "env", "max_chars", "must_not_exist"}, case["name"]
        assert case["place"] and case["problem"] and case["fix"], case["name"]
        assert "generate" not in case or hasattr(generate, case["generate"]), case["name"]


def test_every_file_of_the_corpus_is_used():
    used = " ".join(arg for case in CASES for arg in case["argv"])
    files = [p for folder in ("models", "sbml") for p in (HERE / folder).glob("*.*")]
    assert files
    for path in files:
        assert f"{{here}}/{path.parent.name}/{path.name}" in used, path.name
        text = path.read_bytes()
        assert text.startswith((b"# BAD: ", b"<?xml")) or not text, path.name


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case_fails_with_one_clear_answer(case, outcomes):
    outcome = outcomes[case["name"]]
    err = outcome.stderr
    shown = err if len(err) < 3000 else err[:1500] + " ... " + err[-1500:]
    assert outcome.status == 2, (outcome.status, shown)
    assert outcome.seconds < WALL_SECONDS, "hung"
    assert not INTERNALS.search(err + outcome.stdout), shown
    assert not API_NAMES.search(err), shown
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "no message"
    first = next(line for line in lines if not line.startswith((" ", "usage:")))
    assert first.startswith(("error: ", "stochsyn")), shown        # argparse: "stochsyn run:"
    for fragment in case["place"] + case["problem"] + case["fix"]:
        # a hint is printed with a capital letter; the fragments need not say so
        assert _fill(fragment, outcome.folder).lower() in err.lower(), (fragment, shown)
    assert len(err) <= case.get("max_chars", 4000), len(err)
    for path in case.get("must_not_exist", []):
        assert not Path(_fill(path, outcome.folder)).exists(), path
    assert not (outcome.folder / "pwned").exists()
    assert not (outcome.folder / "results").exists(), "a results folder was left behind"
