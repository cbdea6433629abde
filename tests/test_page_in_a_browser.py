"""The comparison page in a real browser: headless Chromium (Debian's `chromium` package).

The committed pages of every set (profiles/reference/MACHINE/index.html, and samply's) are
opened from the file system, as a reader opens them, inside a 1400 px wide frame of a small
test page whose script reads them: every flamegraph a page offers loads (each pair of the
side-by-side view is chosen in turn, as a reader would with the two lists), the differential
graphs load, one time scale draws the faster stage narrower, and nothing scrolls sideways at
1400 px. Chromium prints the test page's DOM when its scripts are done (--dump-dom), results
included.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from workshop import machines

PAGES = [
    page
    for refset in machines.sets()
    for page in (refset.profiles / "index.html", refset.profiles / "samply" / "index.html")
]
WIDTH = 1400

CHECK = """<!doctype html><meta charset="utf-8"><body style="margin:0">
<iframe id="page" src="%(page)s" style="width:%(width)spx;height:900px;border:0"></iframe>
<pre id="result">running</pre>
<script>
var result = {graphs: {}, diffs: {}, errors: []};
function wait(test, then, tries) {
  tries = tries || 0;
  var ok = false;
  try { ok = test(); } catch (e) { ok = false; }
  if (ok || tries > 200) { then(ok); return; }
  setTimeout(function () { wait(test, then, tries + 1); }, 25);
}
function drawn(frame, svg) {
  // the frame shows ``svg`` (not still the one before it) and inferno drew its boxes
  var doc = frame.contentDocument, url = decodeURIComponent(frame.contentWindow.location.href);
  if (!doc || url.slice(-svg.length) !== svg) return false;
  return !!(doc.querySelector('#frames') && doc.querySelectorAll('#frames g').length > 0);
}
function finish() {
  document.getElementById('result').textContent = JSON.stringify(result);
}
document.getElementById('page').onload = function () {
  var page = document.getElementById('page').contentWindow, doc = page.document;
  var root = doc.documentElement;
  result.scroll = {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth};
  var left = doc.getElementById('left'), right = doc.getElementById('right');
  var data = JSON.parse(doc.getElementById('page-data').textContent);
  result.controls = !doc.getElementById('controls').hidden;
  var names = Object.keys(data.graphs), pairs = [];
  result.names = names; result.diff_keys = Object.keys(data.diffs);
  names.forEach(function (n, i) { pairs.push([n, names[(i + 1) %% names.length]]); });
  Object.keys(data.diffs).forEach(function (k) { pairs.push(k.split('|')); });
  var first = data.steps[0].split('|');
  function next(i) {
    if (i >= pairs.length) { scale(); return; }
    left.value = pairs[i][0]; right.value = pairs[i][1];
    left.dispatchEvent(new page.Event('change'));
    var lf = doc.getElementById('left-frame'), rf = doc.getElementById('right-frame');
    var a = data.graphs[pairs[i][0]].svg, b = data.graphs[pairs[i][1]].svg;
    wait(function () { return drawn(lf, a) && drawn(rf, b); }, function (ok) {
      result.graphs[pairs[i][0]] = drawn(lf, a);
      result.graphs[pairs[i][1]] = drawn(rf, b);
      var key = pairs[i].join('|'), diff = data.diffs[key];
      if (diff) {
        var grew = doc.getElementById('diff-grew'), gone = doc.getElementById('diff-vanished');
        wait(function () { return drawn(grew, diff.grew) && drawn(gone, diff.vanished); },
             function (ok2) { result.diffs[key] = ok2; next(i + 1); });
      } else { next(i + 1); }
    });
  }
  function scale() {
    left.value = first[0]; right.value = first[1];
    left.dispatchEvent(new page.Event('change'));
    var lf = doc.getElementById('left-frame'), rf = doc.getElementById('right-frame');
    result.widths = [lf.getBoundingClientRect().width, rf.getBoundingClientRect().width];
    result.seconds = [data.graphs[first[0]].seconds, data.graphs[first[1]].seconds];
    result.scroll_after = {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth};
    finish();
  }
  next(0);
};
setTimeout(finish, 60000);
</script>
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_check(page, tmp_path) -> dict:
    browser = chromium()
    if browser is None:
        why = "headless Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(why)  # .ci/run installs it
        pytest.skip(why)
    check = tmp_path / "check.html"
    check.write_text(CHECK % {"page": page.resolve().as_uri(), "width": WIDTH})
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         f"--window-size={WIDTH + 20},1000", "--virtual-time-budget=60000",
         f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", check.as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    match = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert match, f"chromium printed no result:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    text = match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    assert text != "running", "the page's checks did not finish"
    return json.loads(text)


@pytest.mark.parametrize(
    "page",
    PAGES,
    ids=[f"{p.parent.name}-{'samply' if 'samply' in p.parts else 'py-spy'}" for p in PAGES],
)
def test_the_reference_page_works_offline_in_chromium(page, tmp_path):
    if not page.exists():
        pytest.skip("no reference page yet")
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.read_text()), "loads from the web"
    result = run_check(page, tmp_path)
    assert result["controls"], "the side-by-side controls stayed hidden: the script did not run"
    graphs, diffs = result["graphs"], result["diffs"]
    assert graphs and set(graphs) == set(result["names"]) and all(graphs.values()), graphs
    assert diffs and set(diffs) == set(result["diff_keys"]) and all(diffs.values()), diffs
    for scroll in (result["scroll"], result["scroll_after"]):
        assert scroll["scrollWidth"] <= scroll["clientWidth"], f"scrolls sideways: {scroll}"
    # One time scale: each graph as wide as its time per call, the slower one full width.
    (wide, narrow), (slow, fast) = result["widths"], result["seconds"]
    assert fast < slow and narrow < wide
    assert narrow / wide == pytest.approx(max(fast / slow, 0.015), abs=0.02)
