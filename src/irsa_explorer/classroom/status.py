"""`irsa-explorer classroom status`: a running classroom's roster, for the terminal (a table, or
its JSON). It asks the server's `/status.json` on this machine, as the status page does."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from .roster import status_table

TIMEOUT_S = 10.0


def status_url(host: str, port: int) -> str:
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/status.json"


def fetch_status(host: str, port: int, timeout: float = TIMEOUT_S) -> dict:
    """The classroom's `/status.json`; raises OSError (with the URL) when no classroom answers."""
    url = status_url(host, port)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (our own http URL)
            return json.loads(answer.read(5_000_000))
    except urllib.error.HTTPError as error:
        raise OSError(f"{url} answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise OSError(f"no classroom answers on {url} ({reason})") from None
    except ValueError:
        raise OSError(f"{url} did not answer JSON: is it an irsa-explorer classroom?") from None


def run_status(host: str, port: int, as_json: bool) -> int:
    try:
        status = fetch_status(host, port)
    except OSError as problem:
        print(f"irsa-explorer classroom status: {problem}; start one with: irsa-explorer classroom --port {port}",
              file=sys.stderr)
        return 2
    if as_json:
        json.dump(status, sys.stdout, indent=2)
        print()
        return 0
    rows = status.get("trainees") if isinstance(status.get("trainees"), list) else []
    connected = sum(1 for r in rows if isinstance(r, dict) and r.get("connected"))
    from irsa_explorer.markdown_safe import visible  # what answers on that port is untrusted

    print(f"classroom {visible(status.get('url', ''), limit=200)}: lesson {visible(status.get('lesson', '?'), limit=80)}, "
          f"{connected} connected, {len(rows)} in all; folders under {visible(status.get('root', '?'), limit=300)}")
    print(status_table([r for r in rows if isinstance(r, dict)]))
    return 0
