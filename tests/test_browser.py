"""The course in a real browser: JupyterLab, driven in Chromium.

For every notebook: open it in JupyterLab served on 127.0.0.1, wait for
its kernel, run all cells, wait for the first explorer, drop a message
with the explorer's Drop button and see the outcome it shows change;
then restore the message and see the outcome come back. A screenshot of
each notebook is saved under the test's temporary directory.

Chromium comes from the system (Debian's package). Without it these
tests are skipped with a message saying how to install it, except where
``DSIM_REQUIRE_BROWSER`` is set (CI), where a missing browser fails.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
INSTALL_HINT = ("the browser test needs Chromium: install it with "
                "'apt-get install chromium' (Debian, Ubuntu) and run the tests again")

pytestmark = pytest.mark.browser


def chromium_path():
    for candidate in (shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium():
    path = chromium_path()
    if path is None:
        if os.environ.get("DSIM_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (DSIM_REQUIRE_BROWSER is set) "
                        "but was not found; " + INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return path


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_settings(folder):
    """Quiet JupyterLab: no news pop-up over the page, no autosave."""
    notes = folder / "@jupyterlab" / "apputils-extension"
    notes.mkdir(parents=True)
    (notes / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    docs = folder / "@jupyterlab" / "docmanager-extension"
    docs.mkdir(parents=True)
    (docs / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over a copy of the notebooks."""
    base = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", base / "notebooks")
    _write_settings(base / "settings")
    port, token = _free_port(), "dsim-browser-test"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={base / 'notebooks'}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    env = {**os.environ, "DSIM_QUICK": "1", "JUPYTER_CONFIG_DIR": str(base / "config")}
    log = open(base / "server.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(url, token, server, base / "server.log")
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_for_server(url, token, server, log_path):
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("JupyterLab exited:\n" + log_path.read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("JupyterLab did not answer within 90 s:\n"
                       + log_path.read_text()[-3000:])


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=chromium, headless=True,
                                       args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _wait_idle(page, timeout):
    """Wait for the status bar's kernel state to read Idle."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-StatusBar-Widget *')]
               .some(e => /\\|\\s*Idle$/.test(e.textContent.trim()))""",
        timeout=timeout)


def _status_text(page):
    text = page.locator(".dsim-explorer .dsim-status").first.text_content()
    return (text or "").replace("\u00a0", " ")


def _counts(text):
    found = re.search(r"delivered (\d+) · dropped (\d+)", text)
    assert found, f"the explorer's status line is unreadable: {text!r}"
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_its_explorer_drops_a_message(lab, browser, name, tmp_path):
    url, token = lab
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    try:
        # a workspace of its own, reset, so no other notebook is reopened
        space = Path(name).stem.replace("_", "-")
        page.goto(f"{url}/lab/workspaces/{space}/tree/{name}?token={token}&reset")
        # "Run all" sent before a kernel exists is lost: wait for it to be idle
        _wait_idle(page, 120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator('li[data-command="runmenu:run-all"]').click()

        status = page.locator(".dsim-explorer .dsim-status").first
        status.wait_for(state="visible", timeout=180_000)
        page.wait_for_function(
            """() => { const s = document.querySelector('.dsim-explorer .dsim-status');
                       return s && /delivered \\d+/.test(s.textContent); }""",
            timeout=60_000)
        status.scroll_into_view_if_needed()
        before = _status_text(page)
        delivered, dropped = _counts(before)

        explorer = page.locator(".dsim-explorer").first
        choice = explorer.locator(".dsim-messages select").first
        page.wait_for_function(
            """() => { const s = document.querySelector(
                   '.dsim-explorer .dsim-messages select');
                   return s && s.options.length > 0
                          && [...s.options].every(o => o.textContent.trim()); }""",
            timeout=30_000)
        labels = [text.replace("\u00a0", " ")
                  for text in choice.locator("option").all_text_contents()]
        delivered_ones = [i for i, text in enumerate(labels)
                          if text.strip() and "·" not in text]
        assert delivered_ones, f"no delivered message to drop in {labels[:5]}"
        picked = delivered_ones[min(2, len(delivered_ones) - 1)]
        message_id = labels[picked].split()[0]
        choice.select_option(index=picked)
        # the kernel enables Drop once it has the choice; click waits for that
        explorer.locator("button.dsim-drop").first.click(timeout=30_000)
        page.wait_for_function(
            """(before) => { const s = document.querySelector(
                   '.dsim-explorer .dsim-status');
                   return s && s.textContent.trim() !== before.trim(); }""",
            arg=before, timeout=60_000)
        after = _status_text(page)
        # the outcome shown changed, and the list marks the message as dropped
        assert _counts(after) != (delivered, dropped)
        page.wait_for_function(
            """(id) => [...document.querySelectorAll(
                   '.dsim-explorer .dsim-messages option')]
                   .map(o => o.textContent.replace(/\u00a0/g, " "))
                   .some(t => t.startsWith(id + " ")
                              && t.includes("dropped by you"))""",
            arg=message_id, timeout=30_000)
        _wait_idle(page, 60_000)
        page.screenshot(path=str(tmp_path / f"{Path(name).stem}.png"), full_page=False)

        explorer.locator("button.dsim-restore").first.click(timeout=30_000)
        page.wait_for_function(
            """(after) => { const s = document.querySelector(
                   '.dsim-explorer .dsim-status');
                   return s && s.textContent.trim() !== after.trim(); }""",
            arg=after, timeout=60_000)
        assert _counts(_status_text(page)) == (delivered, dropped)
    except Exception:
        page.screenshot(path=str(tmp_path / f"{Path(name).stem}-failed.png"))
        raise
    finally:
        page.close()


def test_clicking_an_arrow_in_the_live_diagram_drops_that_message(
        lab, browser, tmp_path):
    """On the ipympl canvas, a click on an arrow drops it; a click on blank
    space does nothing. The clicks sweep across the band between the two
    lifelines of ping-pong, where every arrow crosses, until one lands."""
    url, token = lab
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    try:
        page.goto(f"{url}/lab/workspaces/click/tree/00_start_here.ipynb"
                  f"?token={token}&reset")
        _wait_idle(page, 120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator('li[data-command="runmenu:run-all"]').click()
        page.wait_for_function(
            """() => { const s = document.querySelector('.dsim-explorer .dsim-status');
                       return s && /delivered \\d+/.test(s.textContent); }""",
            timeout=180_000)
        _wait_idle(page, 60_000)
        canvas = page.locator(".dsim-explorer canvas").last
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        before = _status_text(page)
        changed = None
        for step in range(8, 120):
            page.mouse.click(box["x"] + box["width"] * step / 128,
                             box["y"] + box["height"] * 0.5)
            # let the click reach the kernel and any re-run finish before
            # the next click, which could otherwise restore what this dropped
            page.wait_for_timeout(250)
            _wait_idle(page, 30_000)
            if _status_text(page) != before:
                changed = _status_text(page)
                break
        assert changed, "no click on the diagram dropped a message"
        assert _counts(changed)[1] == _counts(before)[1] + 1
        page.wait_for_function(
            """() => [...document.querySelectorAll(
                   '.dsim-explorer .dsim-messages option')]
                   .some(o => o.textContent.replace(/\\u00a0/g, " ")
                                .includes("dropped by you"))""", timeout=30_000)
        _wait_idle(page, 60_000)
        page.screenshot(path=str(tmp_path / "clicked.png"))
    except Exception:
        page.screenshot(path=str(tmp_path / "click-failed.png"))
        raise
    finally:
        page.close()
