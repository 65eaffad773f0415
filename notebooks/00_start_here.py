# %% [markdown]
# # 00 · Start here
#
# **Learning goals**
# - check that your environment has what the course needs: package versions, the device, quick or full mode;
# - prune a first network and see Torch-Pruning reproduce its own README's numbers on your machine;
# - know how the course is organised and where its code lives;
# - answer an exercise, have it checked, and reveal a reference solution;
# - run the course locally, on Colab, or on a GPU.
#
# **Prerequisites**: Python, and a first contact with PyTorch (`nn.Module`, tensors). No GPU needed.
#
# **Run time** (from `figures/notebook_times.csv`): about 5 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

# %%
# Colab only: fetch the course and its pinned packages (does nothing elsewhere)
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "https://github.com/channel-pruning-course/course",
                        "/content/course"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/course"], check=True)
    sys.path.insert(0, "/content/course")
    os.chdir("/content/course/notebooks")

# %%
import helpers
device = helpers.env.setup()

# %% [markdown]
# The setup cell fixed the random seeds, set one figure style for the course, and printed the
# package versions, the device the course will use, and the mode it runs in. Every notebook starts
# with these two cells.
#
# ## The one idea of this course
#
# Structural (channel) pruning removes whole channels from a network. Torch-Pruning's
# `pruning_ratio=p` removes a fraction `p` of every layer's channels. It is tempting to read this as
# "p removes p of the parameters". It does not: a weight between two pruned layers loses `p` of its
# rows *and* `p` of its columns, so it keeps `(1-p)²` of itself and the network loses about
# **1-(1-p)²** of its parameters. Here is what that means at `p = 0.5`:

# %%
# NBVAL_CHECK_OUTPUT
p = 0.5
naive, rule = p, helpers.theory.param_reduction(p)
print(f"p = {p}: the naive reading removes {naive:.0%} of the parameters, the rule removes {rule:.0%}")
assert rule > naive

# %% [markdown]
# Notebooks 01-05 derive the rule and show where real networks bend away from it; 06-09 prune real
# CNNs and measure parameters, MACs and speed; 08 shows what over-pruning costs in accuracy.
#
# ## Your environment
#
# The course pins its packages; the checks below fail loudly if yours are too old. Torch-Pruning must
# be release 1.6.1: the course reads its behaviour (how it groups, rounds and skips channels) from that
# release.

# %%
from importlib.metadata import version

versions = helpers.env.versions()
torch_release = tuple(int(x) for x in versions["torch"].split("+")[0].split(".")[:2])
assert torch_release >= (2, 11), "the course needs torch 2.11 or newer"
assert versions["torch-pruning"] == "1.6.1", "the course is written against torch-pruning 1.6.1"
for package in ("torchvision", "matplotlib", "numpy", "tqdm"):
    print(package, version(package))

# %% [markdown]
# **Device.** `helpers.env.device()` picks a CUDA GPU when there is one and the CPU otherwise; every
# notebook moves its models and tensors to `device` (never with a bare `.cuda()`), so the same code
# runs on both. Set the environment variable `COURSE_DEVICE=cpu` (or `cuda`) before starting Jupyter
# to choose yourself.

# %%
print("device:", device, "|", helpers.env.device_name(device))

# %% [markdown]
# **Quick or full mode.** Work that takes time (pruning many models, training) depends on
# `helpers.env.quick()`. Quick mode, the default on a CPU, keeps every notebook within a few minutes
# on a laptop; full mode, the default on a GPU, prunes more models and trains longer. The variable
# `COURSE_MODE=quick|full` overrides the default; it is read each time, so you can also set it from a
# notebook, as this cell does (and then restores it):

# %%
# NBVAL_CHECK_OUTPUT
import os

saved = os.environ.get("COURSE_MODE")
for chosen in ("quick", "full"):
    os.environ["COURSE_MODE"] = chosen
    print(f"COURSE_MODE={chosen}: mode() = {helpers.env.mode()!r}, quick() = {helpers.env.quick()}")
    assert helpers.env.mode() == chosen
if saved is None:
    del os.environ["COURSE_MODE"]
else:
    os.environ["COURSE_MODE"] = saved

# %%
print("this notebook runs in", helpers.env.mode(), "mode")

# %% [markdown]
# ## A first pruning
#
# Torch-Pruning's README opens with a quick-start: prune a torchvision ResNet-18 with
# `pruning_ratio=0.5`, keeping the final classifier (its outputs are the classes) untouched, and
# print the parameter count before and after. `helpers.zoo.build` builds the model with random weights
# (`weights=None`): a parameter count depends on the shapes of the tensors, not on their values, so
# nothing needs downloading. `helpers.pruning.prune` runs Torch-Pruning's pruner and counts.

# %%
model, example_inputs, ignored_layers = helpers.zoo.build("resnet18", device=device)
print("ignored (the classifier):", ignored_layers)
result = helpers.pruning.prune(model, example_inputs, 0.5, ignored_layers)

# %%
# NBVAL_CHECK_OUTPUT
README_QUICKSTART = (11_689_512, 3_055_880)  # the two counts Torch-Pruning's README quick-start prints
print(f"parameters: {result.params_before:,} -> {result.params_after:,}")
print(f"removed: {result.param_reduction:.1%} (the rule says {helpers.theory.param_reduction(0.5):.0%})")
assert (result.params_before, result.params_after) == README_QUICKSTART

# %% [markdown]
# The counts match Torch-Pruning's README to the parameter, and the reduction is close to the rule,
# a little below it; notebook 03 explains the gap. The pruned model is still a working network:

# %%
# NBVAL_CHECK_OUTPUT
import torch

with torch.no_grad():
    out = result.model(example_inputs)
print("output shape:", tuple(out.shape))
assert out.shape == (1, 1000)

# %% [markdown]
# ## How the course is organised
#
# | part | notebook | what you do |
# |---|---|---|
# | theory | 00 · Start here | check the environment; learn how exercises work |
# | | 01 · Counting parameters | count a layer's parameters by hand and check against PyTorch |
# | | 02 · The quadratic law | derive 1-(1-p)² and its inverse; watch it hold on a plain CNN |
# | | 03 · Where the rule bends | the stem, the classifier, BatchNorm and depthwise convs keep `1-p`, not `(1-p)²` |
# | | 04 · Groups and rounding | residual and concatenation groups, `round_to`, grouped convs, global pruning |
# | | 05 · The exact count | `A k² + B k + C`, and a predictor exact to the parameter |
# | practice | 06 · Pruning real CNNs | Torch-Pruning's dependency graph and arguments, on a dozen torchvision CNNs |
# | | 07 · Reproducing the README | Torch-Pruning's published ResNet-50 log, measured |
# | | 08 · Hitting a parameter budget | choosing p for a target reduction |
# | | 09 · MACs and latency | why fewer parameters is not the same speed-up |
# | accuracy | 10 · The cost of over-pruning | what removing too much does to a trained network |
#
# Notebooks are numbered in reading order; each one names its prerequisites. Each lives in
# `notebooks/` twice: `NN_name.ipynb` (with stored outputs) and `NN_name.py`, the same notebook as a
# plain Python file, convenient for reading a diff. The times each notebook took when it was last run
# are recorded in `figures/notebook_times.csv`; `make notebooks` writes them into each notebook's
# title cell and the README's course map after every run (`helpers.env.run_times()` reads them).
#
# **The helpers.** Computation the notebooks share lives in the `helpers` package, tested on its
# own; the notebooks call it and explain what it does. Its main modules:

# %%
for name in ("theory", "zoo", "pruning", "predict", "env", "plots", "checks"):
    module = getattr(helpers, name)
    print(f"helpers.{name:<8} {module.__doc__.strip().splitlines()[0]}")

# %% [markdown]
# Read any of them with `help(helpers.theory)` or `helpers.theory??` in Jupyter.
#
# **Checks in the text.** A cell that ends with `assert` checks the claim made just before it, on
# your machine: if one fails, your environment differs from the course's. Cells whose first line is
# `# NBVAL_CHECK_OUTPUT` print results that must not change between machines (counts, tables); the
# course's tests re-run every notebook and compare those outputs.
#
# ## How exercises work
#
# An exercise asks for a number or a function. You replace the `...` (or the body that raises
# `NotImplementedError`) with your answer and run the cell: `helpers.checks.check` says whether it
# passes or what is wrong. Try it: under the rule, what fraction of the parameters does `p = 0.5`
# remove? (Answer as a fraction, e.g. `0.3`, or a percentage.)

# %%
# NBVAL_CHECK_OUTPUT
answer = ...  # your answer here
passed = helpers.checks.check("00-rule-at-half", answer)

# %% [markdown]
# An unanswered exercise says so. A wrong answer gets a hint, for example the naive reading:

# %%
# NBVAL_CHECK_OUTPUT
assert not helpers.checks.check("00-rule-at-half", 0.5)

# %% [markdown]
# Every exercise has a reference solution, which the course's tests run through the same check. To
# see it (after trying!), call `helpers.checks.reveal` with the exercise's name:

# %%
# NBVAL_CHECK_OUTPUT
helpers.checks.reveal("00-rule-at-half")

# %% [markdown]
# Later notebooks leave the `reveal` line commented out, for you to run when you want. The exercises of
# a notebook are listed by `helpers.checks.for_notebook`:

# %%
# NBVAL_CHECK_OUTPUT
print(helpers.checks.for_notebook("00_start_here"))

# %% [markdown]
# ## Running the course
#
# - **Locally.** From the repository's root, `make lab` creates a virtual environment `.venv` with the
#   pinned packages (first time only) and opens the notebooks in JupyterLab. `make notebooks` re-runs
#   every notebook top to bottom (`make notebooks NB=02` one of them) and stores its outputs;
#   `make test` runs the helper tests and every notebook through nbval, as the course's CI does. With
#   conda, `conda env create -f environment.yml` builds the same environment.
# - **On Colab.** Open a notebook from the README's "Open in Colab" links. The first code cell of every
#   notebook clones the course and installs its packages, on Colab only. Choose a GPU runtime
#   (Runtime > Change runtime type) for full mode.
# - **With a GPU.** Nothing to change: the device is CUDA and the mode is full. Set `COURSE_MODE=quick`
#   for a faster pass.
#
# Everything runs offline once installed: models are built with `weights=None`, and the training
# data of notebook 10 ships inside scikit-learn.
#
# ## Summary
#
# - `helpers.env.setup()` fixes the seeds and reports versions, device and mode; `COURSE_MODE` and
#   `COURSE_DEVICE` override the defaults.
# - Torch-Pruning 1.6.1 on this machine reproduces its README's ResNet-18 counts exactly, and the
#   reduction at `p = 0.5` is near 1-(1-p)², well above the naive `p`.
# - Exercises are checked by `helpers.checks.check(name, answer)`; `helpers.checks.reveal(name)`
#   prints the reference solution.
#
# ## Exercises
#
# - `00-rule-at-half`: the fraction of parameters the rule removes at `p = 0.5` (above).
#
# Next: **01 · Counting parameters**.
