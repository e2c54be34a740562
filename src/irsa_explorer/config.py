"""The user's settings: `$XDG_CONFIG_HOME/irsa-explorer/config.toml` (default
`~/.config/irsa-explorer/config.toml`), read once by launch.py; the TUI layer only.

    theme = "textual-light"          # any built-in Textual theme; `--theme NAME` wins for one run
    readonly = true                  # as --readonly
    probe_image = "public.ecr.aws/aws-cli/aws-cli:latest"   # the probe pod's image (X)
    [keymap]                         # binding id = keys, as Textual's App.set_keymap takes them
    "app.quit" = "ctrl+q"
    "app.filter" = "slash,ctrl+f"

A file that cannot be read, a wrong key or an unknown theme is one line on screen (the file and
the key) and the explorer starts with the defaults for that key — never a traceback. The theme
picked in the command palette is written back: only the `theme` line changes, the rest of the file
stays as the user wrote it. The stdlib reads TOML (tomllib) but cannot write it; rewriting the
one `theme = "…"` line ourselves keeps comments and order, which a TOML writer would drop.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KNOWN_KEYS = ("theme", "readonly", "probe_image", "keymap")


def config_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "irsa-explorer" / "config.toml"


@dataclass
class Config:
    path: Path
    theme: str | None = None
    readonly: bool = False
    probe_image: str | None = None  # None: sources.probe.DEFAULT_PROBE_IMAGE
    keymap: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, key: str, why: str) -> None:
        self.problems.append(f"{self.path}: {key}: {why} — using the default")


def load(path: Path | None = None) -> Config:
    """The settings in `path` (default: config_path()); a missing file is the defaults."""
    config = Config(path or config_path())
    try:
        data = tomllib.loads(config.path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return config
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        config.problems.append(f"{config.path}: cannot be read ({error}) — using the defaults")
        return config
    for key in data:
        if key not in KNOWN_KEYS:
            config.problem(key, f"unknown key (known: {', '.join(KNOWN_KEYS)})")
    theme = data.get("theme")
    if theme is not None:
        if isinstance(theme, str) and theme:
            config.theme = theme  # checked against the app's themes once it exists (check_theme)
        else:
            config.problem("theme", "must be a theme name in quotes")
    readonly = data.get("readonly")
    if readonly is not None:
        if isinstance(readonly, bool):
            config.readonly = readonly
        else:
            config.problem("readonly", "must be true or false")
    probe_image = data.get("probe_image")
    if probe_image is not None:
        if isinstance(probe_image, str) and probe_image.strip() and not any(c.isspace() for c in probe_image):
            config.probe_image = probe_image
        else:
            config.problem("probe_image", "must be an image reference in quotes, e.g. \"amazon/aws-cli:latest\"")
    keymap = data.get("keymap")
    if keymap is not None:
        if not isinstance(keymap, dict):
            config.problem("keymap", "must be a table: [keymap] then \"binding.id\" = \"keys\"")
        else:
            for binding_id, keys in keymap.items():
                if isinstance(keys, str) and keys.strip():
                    config.keymap[binding_id] = keys
                else:
                    config.problem(f"keymap.{binding_id}", "must be keys in quotes, e.g. \"ctrl+q\"")
    return config


def unknown_theme(name: str, themes: Any) -> str:
    return f"unknown theme {name!r} (themes: {', '.join(sorted(themes))})"


_TOP_LEVEL_THEME = re.compile(r"^\s*theme\s*=")
_TABLE = re.compile(r"^\s*\[")


def save_theme(path: Path, theme: str) -> str | None:
    """Write `theme = "<theme>"` into the file at `path`, leaving every other line as it is.
    Returns None, or why the file was left alone (it cannot be read back as the same settings)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as error:
        return f"{path}: not saved ({error})"
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return f"{path}: not saved, the file does not parse ({error})"
    line = f"theme = {json.dumps(theme)}"  # a JSON string of a theme name is a TOML basic string
    lines = text.splitlines(keepends=True)
    for index, old in enumerate(lines):
        if _TABLE.match(old):
            lines.insert(0, line + "\n")  # top-level keys go before the first table
            break
        if _TOP_LEVEL_THEME.match(old):
            lines[index] = line + ("\n" if old.endswith("\n") else "")
            break
    else:
        lines.insert(0, line + "\n")
    new_text = "".join(lines)
    try:
        after = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        after = None
    if after != {**before, "theme": theme}:
        return f"{path}: not saved, its theme line is not a plain `theme = \"name\"`"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".toml")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(new_text)
        os.replace(temporary, path)
    except OSError as error:
        return f"{path}: not saved ({error})"
    return None


class FollowsConfig:
    """Mix into the App class (launch.configured): applies a Config when the app mounts — theme,
    keymap, one warning per problem — and writes the theme the user picks back to the file.
    Keyword arguments `config` and `theme` (a --theme override) are taken here, not by the App."""

    def __init__(self, *args: Any, config: Config | None = None, theme: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._config = config
        self.probe_image = config.probe_image if config is not None else None  # screens/probe.py reads it
        self._theme_override = theme
        self._theme_saved: str | None = None

    def on_mount(self) -> None:
        config = self._config
        if config is None:
            return
        app: Any = self
        problems = list(config.problems)
        wanted = self._theme_override or config.theme
        if wanted is not None:
            if wanted in app.available_themes:
                app.theme = wanted
            elif wanted == config.theme:
                problems.append(f"{config.path}: theme: {unknown_theme(wanted, app.available_themes)} — using the default")
        if config.keymap:
            known = binding_ids()
            for binding_id in config.keymap:
                if binding_id not in known:
                    problems.append(f"{config.path}: keymap.{binding_id}: no binding has this id — ignored")
            app.set_keymap(with_followers({k: v for k, v in config.keymap.items() if k in known}))
        self._theme_saved = app.theme
        app.theme_changed_signal.subscribe(app, self._theme_changed)
        for line in problems:
            app.notify(line, title="config", severity="warning", timeout=20, markup=False)

    def _theme_changed(self, theme: Any) -> None:
        if self._config is None or theme.name == self._theme_saved:
            return  # the theme set at start (the file's or --theme's) is not written back
        self._theme_saved = theme.name
        why = save_theme(self._config.path, theme.name)
        if why:
            self.notify(why, title="config", severity="warning", timeout=20, markup=False)  # type: ignore[attr-defined]


# A hidden binding standing in for another moves with it: under --readonly, `w` is the screen's
# view.whoami_readonly (it says why nothing runs), which must answer the key app.whoami is on.
FOLLOWERS = {"app.whoami": ("view.whoami_readonly",)}


def with_followers(keymap: dict[str, str]) -> dict[str, str]:
    """`keymap` plus, for each binding it moves, the hidden bindings that follow that one."""
    followed = {f: keys for leader, keys in keymap.items() for f in FOLLOWERS.get(leader, ())}
    return {**followed, **keymap}  # a line of the file's own for a follower wins


def binding_ids() -> set[str]:
    """The ids of every binding of every loaded widget, screen and app class: what a [keymap]
    line can name."""
    from textual.dom import DOMNode

    ids: set[str] = set()
    pending: list[type] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for binding in cls.__dict__.get("BINDINGS", ()):
            binding_id = getattr(binding, "id", None)
            if binding_id:
                ids.add(binding_id)
    return ids
