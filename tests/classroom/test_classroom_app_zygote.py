"""The app zygote's warm-up (classroom/app_zygote.warm): what every app and its loader would do
on their own is done once, before the zygote forks them, and leaves the zygote with one thread."""

from __future__ import annotations

import json
import subprocess
import sys

WARMED = r"""
import json, sys, threading
from irsa_explorer.classroom.app_zygote import AWS_SERVICES, warm
warm()
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.botocore_data import _loaders
cached = {str(key) for loader in _loaders.values() for key in loader._cache}
print(json.dumps({
    "threads": threading.active_count(),
    "core_v1": "kubernetes.client.api.core_v1_api" in sys.modules,
    "models": {service: any(f"'{service}'" in key and "load_service_model" in key for key in cached)
               for service in AWS_SERVICES},
    "tui": "irsa_explorer.app" in sys.modules and "irsa_explorer.sources.loader" in sys.modules,
}))
"""


def test_the_zygote_warms_the_clients_first_use_and_stays_single_threaded() -> None:
    ran = subprocess.run([sys.executable, "-c", WARMED], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    said = json.loads(ran.stdout.strip().splitlines()[-1])
    assert said["threads"] == 1  # it forks: a second thread's locks would stay held in every child
    assert said["core_v1"]  # the kubernetes client's lazy import of CoreV1Api (~0.45 s of CPU each)
    assert all(said["models"].values()), said["models"]  # botocore's service models, parsed once
    assert said["tui"]
