"""Open the course in `make lab` with headless Chromium, run one notebook, and screenshot it.

A check of what a learner sees, not part of `make test` (it needs Chromium and Playwright, which
the course does not install):

    apt-get install chromium            # Debian's build; Playwright's own download is not needed
    python -m venv /tmp/pw && /tmp/pw/bin/pip install playwright
    /tmp/pw/bin/python tools/lab_screenshot.py 05_the_exact_count.ipynb figures/lab_explorer.png

It starts `make lab` on a free port, checks that the file browser lists each notebook once (the
jupytext .py twins hidden), runs every cell of the notebook, waits for the explorer's widgets, moves
the channel-ratio slider and checks that the figure is redrawn, then saves a screenshot of the widget.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
TOKEN = "course-lab-check"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 120) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {seconds:.0f} s")


def main(notebook: str, out: str) -> None:
    port = free_port()
    args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={TOKEN}"
    # its own process group: stopping make must stop the JupyterLab it started too
    lab = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/api/status?token={TOKEN}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{notebook}?token={TOKEN}")
            page.wait_for_selector(".jp-DirListing-item", timeout=120_000)
            page.wait_for_timeout(2000)
            listed = page.locator(".jp-DirListing-itemText").all_inner_texts()
            twins = [name for name in listed if name.endswith(".py")]
            print(f"file browser: {len(listed)} items, {len(twins)} .py files: {listed}")
            assert not twins, f"the file browser shows the jupytext twins: {twins}"
            no_news = page.get_by_role("button", name="No", exact=True)  # the "notified about news?" toast
            if no_news.count():
                no_news.first.click()
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            page.click("text=Run", timeout=30_000)  # the menu
            page.click("text=Run All Cells", timeout=30_000)
            slider = page.locator(".widget-slider").first
            slider.wait_for(timeout=300_000)
            figure = page.locator(".widget-output img").first
            figure.wait_for(timeout=120_000)
            before = figure.get_attribute("src")
            slider.scroll_into_view_if_needed()
            page.locator(".widget-slider .noUi-handle").first.focus()
            for _ in range(20):  # move p by 0.20 with the keyboard, as a learner might
                page.keyboard.press("ArrowRight")
            page.wait_for_function("(old) => { const img = document.querySelector('.widget-output img');"
                                   " return img && img.src !== old; }", arg=before, timeout=60_000)
            readout = page.locator(".widget-slider .widget-readout").first.inner_text()
            print(f"slider moved to p = {readout}; the figure was redrawn")
            page.wait_for_timeout(1500)
            box = page.locator(".widget-vbox").first
            box.screenshot(path=out)
            print(f"saved {out}")
            browser.close()
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            log = lab.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            log = lab.communicate()[0]
        if "Running as root is not recommended" in log and "--allow-root" not in log:
            print("JupyterLab refused root", file=sys.stderr)
        print("\n".join(line for line in log.splitlines() if re.search(r"error|Error|root", line))[-2000:])


if __name__ == "__main__":
    main(*(sys.argv[1:3] if len(sys.argv) > 2 else ("05_the_exact_count.ipynb", "figures/lab_explorer.png")))
