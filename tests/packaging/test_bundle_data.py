"""packaging/bundle_data.py and entry.py, without PyInstaller: every file the program reads is in the bundle's
data list at the place the code looks for it, and the frozen entry point runs the engine child."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging._load import PACKAGING, REPO, load
from wizard import __version__

bundle_data = load("bundle_data")


def bundled() -> set[Path]:
    """Where each data file lands, relative to the bundle's root (which stands where the repository does)."""
    return {Path(dest) / Path(src).name for src, dest in bundle_data.datas(REPO)}


def modules_reading_beside_themselves() -> list[str]:
    """wizard modules whose code mentions ``__file__`` or ``resources_dir`` (they find files relative to their
    own location, or in the product's resources/)."""
    found = []
    for path in sorted((REPO / "wizard").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(
            isinstance(node, ast.Name) and node.id in ("__file__", "resources_dir") for node in ast.walk(tree)
        ):
            found.append(".".join(path.relative_to(REPO).with_suffix("").parts))
    return found


def runtime_paths() -> dict[Path, str]:
    """Module-level Path constants of those modules, relative to the repository -> the module's name."""
    out: dict[Path, str] = {}
    for name in modules_reading_beside_themselves():
        if name in bundle_data.BUILD_TIME_ONLY:
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, Path) and value.is_absolute():
                assert value.resolve().is_relative_to(REPO), f"{name} reads {value}, outside the repository"
                out[value.resolve().relative_to(REPO)] = name
    return out


def test_every_non_python_file_in_the_package_is_bundled() -> None:
    have = bundled()
    walked = [
        p.relative_to(REPO)
        for p in (REPO / "wizard").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc", ".pyi") and "__pycache__" not in p.parts
    ]
    missing = [str(p) for p in walked if p not in have]
    assert not missing, f"not in packaging/bundle_data.datas(): {missing}"


def test_every_folder_the_code_reads_at_run_time_is_bundled() -> None:
    paths = runtime_paths()
    # the scan must find the known readers (else it would pass on nothing)
    assert {
        Path("resources/icons"),
        Path("resources/icons/dark"),
        Path("resources/translations"),
        Path("wizard/ui/translations"),
    } <= set(paths), paths
    have = bundled()
    trees = [Path(tree) for tree, _ in bundle_data.RESOURCE_TREES]
    for rel, module in paths.items():
        assert rel != Path("."), (
            f"{module} reads the repository root: bundle what it needs or list it as build-only"
        )
        assert rel.parts[0] == "wizard" or any(rel.is_relative_to(t) for t in trees), (
            f"{module} reads {rel}: add it to packaging/bundle_data.RESOURCE_TREES"
        )
        files = [rel] if (REPO / rel).is_file() else [
            p.relative_to(REPO) for p in (REPO / rel).rglob("*")
            if p.is_file() and p.suffix not in (".py", ".md") and "__pycache__" not in p.parts  # .md: for people
        ]  # fmt: skip
        missing = [str(f) for f in files if f not in have]
        assert not missing, f"{module} reads {missing}, which the bundle would not have"


def test_resources_the_gui_names_exist_in_the_bundle_list() -> None:
    have = bundled()
    for name in ("app", "ok", "warning", "error", "sync", "info", "eye", "eye-off"):
        assert Path("resources/icons") / f"{name}.svg" in have
    assert Path("resources/translations/d365sync_de.ts") in have


def test_keyring_backends_are_found_through_entry_points() -> None:
    modules, dists = bundle_data.keyring_backends()
    assert "keyring" in dists
    assert "keyring.backends.SecretService" in modules  # registered by keyring itself


def test_platform_settings() -> None:
    assert bundle_data.version(REPO) == __version__
    plist = bundle_data.macos_info_plist(__version__)
    assert plist["NSHighResolutionCapable"] is True
    assert plist["CFBundleShortVersionString"] == __version__
    text = bundle_data.windows_version_file("1.2.3")
    call = ast.parse(text, mode="eval").body  # PyInstaller evaluates this text on Windows
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "VSVersionInfo"
    assert "filevers=(1, 2, 3, 0)" in text and "StringStruct('ProductVersion', '1.2.3')" in text


def test_spec_is_python_and_uses_the_shared_lists() -> None:
    source = (PACKAGING / "d365sync.spec").read_text(encoding="utf-8")
    compile(source, "d365sync.spec", "exec")
    for needed in (
        "bundle_data.datas(",
        "bundle_data.keyring_backends()",
        "bundle_identifier=bundle_data.APP_ID",
    ):
        assert needed in source


def test_entry_point_runs_the_engine_child_as_the_bundle_would(isolated_home: Path) -> None:
    """``<bundle>/d365sync -m wizard.app.worker`` (the status window's child): with nothing configured
    it reports NotConfigured on its event channel."""
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "entry.py"), "-m", "wizard.app.worker"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    event = json.loads(result.stdout.strip().splitlines()[-1])
    assert event["event"] == "error" and event["error"]["type"] == "wizard.app.factory:NotConfigured"


def test_entry_point_is_the_cli_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    entry = load("entry")
    with pytest.raises(SystemExit) as exit_:
        entry.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"d365sync {__version__}"
    with pytest.raises(SystemExit) as exit_:
        entry.main(["-m", "os"])  # only wizard modules: anything else is the CLI's (unknown) command
    assert exit_.value.code == 2


@pytest.mark.gui
def test_icon_png_for_windows_and_macos(qapp: object, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage  # noqa: TID251

    png = bundle_data.render_icon_png(
        REPO / "resources" / "icons" / "app.svg", tmp_path / "app.png", size=128
    )
    image = QImage(str(png))
    assert (image.width(), image.height()) == (128, 128)
    assert image.pixelColor(4, 64).alpha() > 200 and image.pixelColor(0, 0).alpha() < 50  # rounded square
