"""nbval settings for the course notebooks: stderr (warnings, progress bars) is never compared.

nbval's documented way to leave an output type out of the comparison ("Skipping certain output types"
in its documentation): each notebook's collector lists the keys it skips in ``skip_compare``, and a
stream's key is its name. With "stderr" added, a cell's stderr, stored or produced, is ignored; its
stdout, results and displays are compared as before (under ``--nbval-lax``, in cells marked
``# NBVAL_CHECK_OUTPUT``). tests/test_nbval_stderr.py checks both.
"""


def pytest_collectstart(collector):
    if collector.path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr",)
