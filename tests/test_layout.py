"""The tree shows the architecture: four entry scripts on top, the machinery in mnist_cnn/, tools
apart; the package never reaches back into the scripts; default paths do not depend on the
working directory."""

import ast
import subprocess
import sys
from pathlib import Path

from PIL import Image

from conftest import REPO_DIR
from mnist_cnn import paths
from mnist_cnn.models import MODELS

ENTRY_SCRIPTS = {"basic_cnn.py", "improved_cnn.py", "visualize.py", "predict_custom.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_top_level_holds_the_four_entry_scripts():
    assert {p.name for p in REPO_DIR.glob("*.py")} == ENTRY_SCRIPTS


def test_no_package_module_imports_an_entry_script_or_a_tool():
    forbidden = {Path(name).stem for name in ENTRY_SCRIPTS} | {"tools"}
    for module in (REPO_DIR / "mnist_cnn").glob("*.py"):
        assert not imported_modules(module) & forbidden, module.name


def test_no_module_defines_a_top_level_name_twice():
    # A second `def` of a name silently replaces the first for every caller in the module (a
    # helper added under an existing function's name once changed every reading).
    sources = [*REPO_DIR.glob("*.py"), *(REPO_DIR / "mnist_cnn").glob("*.py"), *(REPO_DIR / "tools").glob("*.py"),
               *(REPO_DIR / "tests").glob("*.py")]
    for path in sources:
        names = [node.name for node in ast.parse(path.read_text()).body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assert len(names) == len(set(names)), (path.name, sorted({n for n in names if names.count(n) > 1}))


def test_default_output_folders_are_anchored_to_the_repo():
    for architecture, spec in MODELS.items():
        folder = Path(spec.defaults.output_dir)
        assert folder.is_absolute() and folder.parent == REPO_DIR, architecture
    assert paths.output_dir("improved_cnn") == REPO_DIR / "output_improved"


def test_scripts_and_tools_find_their_defaults_from_another_directory(mnist, tmp_path):
    Image.fromarray(mnist.test_images[0].numpy()).save(tmp_path / "seven.png")
    predicted = subprocess.run([sys.executable, str(REPO_DIR / "predict_custom.py"), "seven.png"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.startswith("seven.png: 7 (")
    compared = subprocess.run([sys.executable, str(REPO_DIR / "tools" / "compare_models.py"), "--out", "here"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert compared.returncode == 0, compared.stderr
    assert "| test accuracy |" in (tmp_path / "here" / "results.md").read_text()
