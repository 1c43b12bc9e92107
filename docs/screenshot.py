"""Refresh docs/asset-graph.png: the global asset lineage as the Dagster UI draws it.

    python docs/screenshot.py            # from the repo root; needs `chromium` on PATH

Starts dagster-webserver on a free port with a throwaway DAGSTER_HOME and warehouse. When
data/inbox has files, every asset is materialized first so the graph shows their status.
Chromium is driven over the DevTools protocol to set the UI's saved view options (horizontal
layout, groups expanded, navigation hidden), wait for the graph and centre it. Written against
Dagster 1.13's UI: its localStorage keys and buttons may change in other versions.
"""

import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import yaml
from websockets.sync.client import connect  # installed with dagster-webserver (uvicorn)

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "asset-graph.png"
SIZE = (1700, 1320)  # fits the whole graph (three groups) at the UI's largest auto zoom
GROUPS = ["raw", "clean", "listrak"]
# The tables and their sinks. Erasure is left out of the picture: it reads every table, and its
# edges stretch the layout past reading at any zoom.
SELECTION = 'not group:erasure and not key:"*forget*"'
LOAD_TIMEOUT = 300.0  # the code server imports the definitions: minutes on a busy machine
# localStorage entries the UI reads: what each node shows, layout, navigation collapsed.
STORAGE = {
    "asset-node-facets": ["status", "checks"],
    "asset-graph-direction": "horizontal",
    "dagster-nav-collapsed": True,
}
# A point on the graph's background and how far the graph's centre is from the view's.
OFF_CENTRE = """(() => {
  const svg = [...document.querySelectorAll('svg')].find(s => +s.getAttribute('width') > 300);
  const g = svg.getBoundingClientRect();
  const v = svg.parentElement.parentElement.getBoundingClientRect();
  return [v.left + 10, v.top + v.height / 2,
          v.left + (v.width - g.width) / 2 - g.left, v.top + (v.height - g.height) / 2 - g.top];
})()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := predicate():
                return value
        except (httpx.TransportError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


def start_webserver(tmp: Path) -> tuple[subprocess.Popen, str]:
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    settings = yaml.safe_load((REPO / "listrak.yaml").read_text())
    settings.update(inbox=str(REPO / settings["inbox"]), warehouse=str(tmp / "warehouse"))
    (tmp / "listrak.yaml").write_text(yaml.safe_dump(settings))
    env = {**os.environ, "DAGSTER_HOME": str(home), "LISTRAK_CONFIG": str(tmp / "listrak.yaml")}
    inbox = Path(settings["inbox"])
    if inbox.is_dir() and any(p.is_file() for p in inbox.iterdir()):
        materialize = ["dagster", "asset", "materialize", "-m", "listrak_assets.definitions"]
        subprocess.run([*materialize, "--select", "*"], cwd=REPO, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        ["dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
    )
    return server, f"http://127.0.0.1:{port}"


def wait_until_loaded(url: str) -> None:
    def graphql(query: str) -> dict:
        return httpx.post(f"{url}/graphql", json={"query": query}, timeout=10).json()["data"]

    def loaded() -> bool:
        query = "{ locationStatusesOrError { ... on WorkspaceLocationStatusEntries"
        entries = graphql(query + " { entries { loadStatus } } } }")["locationStatusesOrError"]
        return entries["entries"][0]["loadStatus"] == "LOADED"

    wait(loaded, "the code location", timeout=LOAD_TIMEOUT)
    graphql("mutation { setNuxSeen }")  # no "Join the community" dialog over the graph


def devtools_port(port_file: Path) -> str | None:
    """Chromium's debugging port, once it has written the file (it may exist still empty)."""
    lines = port_file.read_text().split() if port_file.exists() else []
    return lines[0] if lines else None


def screenshot(url: str, profile: str) -> bytes:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-sync"
    flags += " --disable-background-networking --disable-component-update"
    browser = subprocess.Popen(
        [chromium, *flags.split(), f"--user-data-dir={profile}", "--remote-debugging-port=0"]
        + [f"--window-size={SIZE[0]},{SIZE[1]}", "about:blank"],
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        port = wait(lambda: devtools_port(port_file), "Chromium")
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list").json()
        page = next(t for t in targets if t["type"] == "page")
        ids = itertools.count(1)
        with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:

            def cdp(method: str, **params) -> dict:
                call = next(ids)
                ws.send(json.dumps({"id": call, "method": method, "params": params}))
                while (reply := json.loads(ws.recv())).get("id") != call:
                    pass
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

            def js(expression: str):
                result = cdp("Runtime.evaluate", expression=expression, returnByValue=True)
                return result["result"].get("value")

            size = {"width": SIZE[0], "height": SIZE[1]}
            cdp("Emulation.setDeviceMetricsOverride", **size, deviceScaleFactor=1, mobile=False)
            cdp("Page.navigate", url=f"{url}/asset-groups")
            wait(lambda: js("document.readyState") == "complete", "the UI")
            for key, value in STORAGE.items():
                js(f"localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(value))})")
            expanded = ",".join(f"global@global:{g}" for g in GROUPS)
            view = f"{url}/asset-groups~{quote(SELECTION, safe='')}?expanded={expanded}"
            cdp("Page.navigate", url=view)
            # Every asset drawn, then the asset tree next to the graph hidden.
            drawn = "document.body.innerText.includes('sms_audience_rejects')"
            wait(lambda: js(drawn), "the asset graph")
            js(
                "[...document.querySelectorAll('button')].find(b => !b.innerText.trim()"
                " && b.querySelector('[aria-label=panel_show_right]'))?.click()"
            )
            # The UI centres the graph only when it first draws it: drag it back to the centre
            # (again if it was still moving), then move the pointer off it (no hover highlight).
            for _ in range(6):
                time.sleep(1)
                x, y, dx, dy = js(OFF_CENTRE)
                if abs(dx) < 2 and abs(dy) < 2:
                    break
                steps = [("mouseMoved", 0, 0), ("mousePressed", 0, 1)]
                steps += [("mouseMoved", i / 5, 1) for i in range(1, 6)]
                for kind, at, buttons in [*steps, ("mouseReleased", 1, 0)]:
                    cdp("Input.dispatchMouseEvent", type=kind, x=x + at * dx, y=y + at * dy,
                        button="left" if kind != "mouseMoved" or buttons else "none",
                        buttons=buttons, clickCount=1)  # fmt: skip
                    time.sleep(0.05)
            cdp("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
            wait(lambda: not js("document.body.innerText.includes('Loading')"), "node status")
            time.sleep(1)  # fonts and edges settle
            shot = cdp("Page.captureScreenshot", format="png")
            return base64.b64decode(shot["data"])
    finally:
        browser.terminate()
        browser.wait()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_webserver(Path(tmp))
        try:
            wait_until_loaded(url)
            OUT.write_bytes(screenshot(url, str(Path(tmp) / "chromium")))
        finally:
            server.terminate()
            server.wait()
    print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
