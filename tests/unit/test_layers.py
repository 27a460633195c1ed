"""Imports inside the package run one way: down the layers, never in a circle.

The layers are those of the architecture (README, "Layout"): model files -> Model
(``stochsyn.model``) -> arrays (``stochsyn.network``) -> kernels (``stochsyn.engine``) ->
result tables (``stochsyn.results``) -> the ensemble runner (``stochsyn.ensemble``), which
fills them -> the public API (``stochsyn/__init__.py``) -> the validations and the command
line, which call that API. The checker reads the source with ``ast`` (nothing is imported),
so an import inside a function counts as much as one at the top of a file: deferring an
import hides a circle from Python's import machinery, not from the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent / "stochsyn"

#: The layers, lowest first. A module may import modules of its own component and of the
#: components of lower layers; components of one layer are siblings and import neither
#: each other nor anything above. A component is a module or a package with everything in
#: it; ``stochsyn`` is the package's own ``__init__`` (the public API) only.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("stochsyn._version", "stochsyn.data",       # the version string; bundled data files;
     "stochsyn._lazy",                           # modules imported on first use;
     "stochsyn.limits"),                         # size limits on inputs (stdlib only)
    ("stochsyn.model",),                         # model files -> Model (plain values)
    ("stochsyn.network", "stochsyn.protocols"),  # Model -> arrays; Protocol -> schedule
    ("stochsyn.engine",),                        # numba kernels: arrays in, status out
    ("stochsyn.dataset", "stochsyn.plotting"),   # Parquet files on disk; figures
    ("stochsyn.results", "stochsyn.decoding",     # Ensemble: tables, Parquet; read-outs
     "stochsyn.trafficking"),
    ("stochsyn.ensemble",),                      # simulate(): seeds, batches, executors
    ("stochsyn",),                               # the public API (__init__.py)
    ("stochsyn.validation",),                    # correctness suites, on the public API
    ("stochsyn.cli",),                           # the `stochsyn` command
)

#: Components that call the public API (and may read the model layer and the public
#: modules, and each other), never the runner, the compiler, the kernels or the result
#: tables directly.
PUBLIC_API_USERS = ("stochsyn.validation", "stochsyn.cli")
PUBLIC_API = ("stochsyn", "stochsyn.model", "stochsyn.protocols", "stochsyn.decoding",
              "stochsyn.trafficking",
              "stochsyn._version", "stochsyn.data", "stochsyn.limits")


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package."""
    top = package_dir.name
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [top, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported module of the package, line) for every import statement in ``path``,
    at any depth (functions, methods, conditionals). ``from P import x`` is an import of
    the module ``P.x`` when that is a module, else of ``P``. Importing a module of a
    subpackage runs the subpackage's ``__init__`` first, unless ``module`` is inside it:
    that counts as an import of the subpackage too (not of the top package, whose
    ``__init__`` runs before any of its modules anyway)."""
    top = module.split(".")[0]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known
                       else origin for alias in node.names]
        else:
            continue
        for target in targets:
            if target == top or target.startswith(top + "."):
                # 'import stochsyn.engine.rng' imports that module (or the package of it)
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                parents = [target.rsplit(".", k)[0] for k in range(target.count("."), 0, -1)]
                imported = [p for p in parents[1:]
                            if not (module == p or module.startswith(p + "."))]
                for name in [*imported, target]:
                    if name != module and (name, node.lineno) not in found:
                        found.append((name, node.lineno))
    return found


def component_of(module: str) -> str | None:
    """The component of ``LAYERS`` that ``module`` belongs to (None: it is in none)."""
    best = None
    for layer in LAYERS:
        for component in layer:
            inside = module == component or (
                module.startswith(component + ".") and "." in component)
            if inside and (best is None or len(component) > len(best)):
                best = component
    return best


def layer_index(component: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if component in layer)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules that import each other in a circle: strongly connected components of
    more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def import_problems(package_dir: Path) -> list[str]:
    """Every import circle, upward or sideways import, unplaced module and bypass of the
    public API in the package at ``package_dir``, as readable lines (empty: all well)."""
    names = module_names(package_dir)
    known = set(names)
    root = package_dir.parent
    edges = {m: imports_of(m, p, known) for m, p in names.items()}
    problems = []
    for module in sorted(names):
        if component_of(module) is None:
            problems.append(f"{module} is in no layer: add it to LAYERS in "
                            f"tests/unit/test_layers.py, where it belongs")
    for module, found in sorted(edges.items()):
        here = component_of(module)
        if here is None:
            continue
        for target, line in found:
            there = component_of(target)
            if there is None or there == here:
                continue
            where = f"{names[module].relative_to(root)}:{line}"
            if layer_index(there) > layer_index(here):
                problems.append(f"{where}: {module} imports {target}, a higher layer "
                                f"({there} is above {here})")
            elif layer_index(there) == layer_index(here):
                problems.append(f"{where}: {module} imports {target}, a sibling of the "
                                f"same layer ({here} and {there})")
            elif (here in PUBLIC_API_USERS and there not in PUBLIC_API
                  and there not in PUBLIC_API_USERS):
                problems.append(f"{where}: {module} imports {target}; {here} calls the "
                                f"public API ({', '.join(PUBLIC_API)}) only")
    graph = {m: {t for t, _ in found} for m, found in edges.items()}
    for circle in cycles(graph):
        links = [f"{names[m].relative_to(root)}:{line} -> {t}" for m in circle
                 for t, line in edges[m] if t in circle]
        problems.append("import circle " + " <-> ".join(circle) + " (" + "; ".join(links)
                        + ")")
    return problems


def test_imports_run_down_the_layers_without_circles():
    assert module_names(PACKAGE_DIR), "the package was not found"
    problems = import_problems(PACKAGE_DIR)
    assert not problems, "\n".join(problems)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "stochsyn"


def test_the_checker_finds_a_circle_hidden_in_a_function_and_an_upward_import(tmp_path):
    package = _write(tmp_path, {
        "stochsyn/__init__.py": "from .model import Model\nfrom .ensemble import simulate\n",
        "stochsyn/_version.py": "__version__ = '0'\n",
        "stochsyn/model/__init__.py": "from .model import Model\n",
        "stochsyn/model/model.py": "class Model:\n    def info(self):\n"
                                   "        from ..network import roles\n",
        "stochsyn/network.py": "from .model.model import Model\ndef roles(): pass\n",
        "stochsyn/ensemble.py": "from . import __version__\nfrom .model import Model\n",
    })
    problems = "\n".join(import_problems(package))
    assert ("stochsyn/model/model.py:3: stochsyn.model.model imports stochsyn.network, a "
            "higher layer") in problems
    assert ("stochsyn/ensemble.py:1: stochsyn.ensemble imports stochsyn, a higher layer"
            in problems)
    assert "import circle stochsyn.model <-> stochsyn.model.model <-> stochsyn.network" in problems
    assert "import circle stochsyn <-> stochsyn.ensemble" in problems


def test_the_checker_counts_the_init_of_a_subpackage_as_imported(tmp_path):
    # model.py imports the writer; the writer's package __init__ loads the reader, which
    # imports model.py: Python fails on this circle although no module names another.
    package = _write(tmp_path, {
        "stochsyn/__init__.py": "",
        "stochsyn/model/__init__.py": "",
        "stochsyn/model/model.py": "from .sbml.writer import write_sbml\nclass Model: pass\n",
        "stochsyn/model/sbml/__init__.py": "from .reader import load_sbml\n",
        "stochsyn/model/sbml/reader.py": "from ..model import Model\ndef load_sbml(): pass\n",
        "stochsyn/model/sbml/writer.py": "def write_sbml(): pass\n",
    })
    assert import_problems(package) == [
        "import circle stochsyn.model.model <-> stochsyn.model.sbml <-> "
        "stochsyn.model.sbml.reader (stochsyn/model/model.py:1 -> stochsyn.model.sbml; "
        "stochsyn/model/sbml/__init__.py:1 -> stochsyn.model.sbml.reader; "
        "stochsyn/model/sbml/reader.py:1 -> stochsyn.model.model)"]


def test_the_checker_finds_siblings_bypasses_and_unplaced_modules(tmp_path):
    package = _write(tmp_path, {
        "stochsyn/__init__.py": "",
        "stochsyn/network.py": "import stochsyn.protocols\n",
        "stochsyn/protocols.py": "",
        "stochsyn/engine/__init__.py": "",
        "stochsyn/validation/__init__.py": "from ..engine import run_batch\n",
        "stochsyn/gui.py": "",
    })
    problems = "\n".join(import_problems(package))
    assert "stochsyn.network imports stochsyn.protocols, a sibling" in problems
    assert "stochsyn.validation imports stochsyn.engine; stochsyn.validation calls the " \
           "public API" in problems
    assert "stochsyn.gui is in no layer" in problems


def test_the_checker_passes_a_package_that_keeps_the_order(tmp_path):
    package = _write(tmp_path, {
        "stochsyn/__init__.py": "from ._version import __version__\n"
                                "from .ensemble import simulate\n",
        "stochsyn/_version.py": "",
        "stochsyn/model/__init__.py": "",
        "stochsyn/model/model.py": "from . import units\n",
        "stochsyn/model/units.py": "",
        "stochsyn/ensemble.py": "def simulate():\n    from .model import model\n"
                                "    from ._version import __version__\n",
        "stochsyn/cli.py": "import stochsyn as ss\nfrom .validation import dsmts\n",
        "stochsyn/validation/__init__.py": "from .. import simulate\n",
        "stochsyn/validation/dsmts.py": "from . import simulate\n",
    })
    assert import_problems(package) == []
