"""Which shared config and credentials files a container's SDK reads, and what provides them.

botocore reads `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`) and
`AWS_CONFIG_FILE` (default `~/.aws/config`), profile `AWS_PROFILE` (else
`AWS_DEFAULT_PROFILE`, else `default`). In a pod those files come from a volume mounted at
that path — usually a Secret, sometimes a ConfigMap or a volume an init container fills. The
pod spec says which volume and which key; what the file holds (static keys, an assume-role
profile, SSO, credential_process, or only settings) is in the Secret's value, which this tool
never reads. So the answer here is *where* the profile comes from, and the chain says what
follows from botocore's order: env keys → assume-role profile → web identity (IRSA) → SSO →
shared credentials file → credential_process → config file → container credentials (Pod
Identity) → instance metadata (the node role).

Pure functions over the pod spec, like credentials.py.
"""

from __future__ import annotations

from irsa_explorer.model import Container, Pod, ProfileSource, SharedFile, VolumeSource

CREDENTIALS_FILE_VAR = "AWS_SHARED_CREDENTIALS_FILE"
CONFIG_FILE_VAR = "AWS_CONFIG_FILE"
PROFILE_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
FILE_VARS = {"credentials": CREDENTIALS_FILE_VAR, "config": CONFIG_FILE_VAR}
ROOT_HOME = "/root"  # HOME of the usual images (aws-cli, python, distroless root) when the spec does not set it


def profile_source(pod: Pod, container: Container) -> ProfileSource | None:
    """The profile `container`'s SDK reads and where its files come from, or None when the
    container names no profile and no volume holds a file where the SDK looks."""
    if not pod.volume_sources and not any(v.name in PROFILE_VARS or v.name in FILE_VARS.values() for v in container.env):
        return None  # nothing mounted and nothing named: the SDK finds no shared files (the common case)
    env = {var.name: var for var in container.env}
    profile_var = next((name for name in PROFILE_VARS if name in env), None)
    profile = "default"
    if profile_var is not None:
        var = env[profile_var]
        profile = var.value if var.value is not None else f"(from {var.value_from})"
    home_var = env.get("HOME")
    home = home_var.value.rstrip("/") if home_var is not None and home_var.value else None
    files: list[SharedFile] = []
    for kind, name in FILE_VARS.items():
        found = _shared_file(pod, container, kind, env.get(name), home)
        if found is not None:
            files.append(found)
    if profile_var is None and not any(f.source is not None for f in files):
        return None
    return ProfileSource(profile, profile_var, tuple(files))


def files_key(pod: Pod) -> tuple:
    """What `profile_source` reads of a pod beyond a container's env: for the resolver's cache
    key. Empty, at no cost, for a pod with no volume but its tokens."""
    if not pod.volume_sources:
        return ()
    names = {source.volume for source in pod.volume_sources}
    return (pod.volume_sources,) + tuple(
        (tuple(m for m in c.volume_mounts if m[0] in names), c.sub_paths) for c in pod.containers
    )


def _shared_file(pod: Pod, container: Container, kind: str, var, home: str | None) -> SharedFile | None:
    """Where the SDK looks for this file and what is mounted there (None: nowhere to look)."""
    name = FILE_VARS[kind]
    if var is not None:
        if var.value is None:
            return SharedFile(kind, f"(path from {var.value_from})", name)
        path = _expand(var.value, home)
        mounted = _mounted_at(pod, container, path)
        return SharedFile(kind, path, name, *mounted) if mounted else SharedFile(kind, path, name)
    if home is not None:
        path = f"{home}/.aws/{kind}"
        mounted = _mounted_at(pod, container, path)
        return SharedFile(kind, path, f"default ($HOME/.aws/{kind}, HOME={home})", *mounted) if mounted else None
    # HOME is the image's: a volume that puts the file at some …/.aws/ is where it expects it.
    for path in _default_candidates(container, kind):
        mounted = _mounted_at(pod, container, path)
        if mounted:
            home_guess = path.rsplit("/.aws/", 1)[0] or "/"
            return SharedFile(kind, path, f"default ($HOME/.aws/{kind}, if the image's HOME is {home_guess})", *mounted)
    return None


def _expand(path: str, home: str | None) -> str:
    if path == "~" or path.startswith("~/"):
        return (home or ROOT_HOME) + path[1:]
    return path


def _default_candidates(container: Container, kind: str) -> list[str]:
    """Paths under a mount that look like $HOME/.aws/<kind>, the root user's first."""
    out = [f"{ROOT_HOME}/.aws/{kind}"]
    for _, mount_path in container.volume_mounts:
        mount = mount_path.rstrip("/")
        if mount.endswith("/.aws"):
            out.append(f"{mount}/{kind}")
        elif mount.endswith(f"/.aws/{kind}"):
            out.append(mount)
    return list(dict.fromkeys(out))


def _mounted_at(pod: Pod, container: Container, path: str) -> tuple[VolumeSource, str | None] | None:
    """The volume source that puts a file at `path` in the container, and the key it comes from."""
    sub_paths = {(volume, mount.rstrip("/")): sub for volume, mount, sub in container.sub_paths}
    best: tuple[int, tuple[VolumeSource, str | None] | None] | None = None
    for volume, mount_path in container.volume_mounts:
        mount = mount_path.rstrip("/") or "/"
        sub = sub_paths.get((volume, mount))
        if path == mount and sub is not None:
            inside = sub  # a single file mounted by subPath
        elif path.startswith(mount.rstrip("/") + "/"):
            inside = path[len(mount.rstrip("/")) + 1:]
            if sub is not None:
                inside = f"{sub.rstrip('/')}/{inside}"
        else:
            continue
        if best is not None and best[0] >= len(mount):
            continue  # the deepest mount shadows the others, as in the container's filesystem
        best = (len(mount), _in_volume(pod, volume, inside))
    return best[1] if best else None


def _in_volume(pod: Pod, volume: str, inside: str) -> tuple[VolumeSource, str | None] | None:
    """The source of the volume's file `inside` (a path within the volume), with its key."""
    for source in pod.volume_sources:
        if source.volume != volume:
            continue
        if source.kind not in ("secret", "configMap"):
            return source, None
        if source.items:
            key = next((k for k, p in source.items if p == inside), None)
            if key is not None:
                return source, key
            continue  # another source of a projected volume may hold it
        if "/" not in inside:
            return source, inside  # every key at its own name: the file exists if the key does
    return None
