# %% [markdown]
# # 00 · Start here
#
# **Learning goals**
# - check that your environment has what the course needs: package versions, the device, quick or full mode;
# - prune a first network with Torch-Pruning's own API (its README quick start: `BasePruner`, an
#   importance, `step()`, `tp.utils.count_ops_and_params`) and reproduce the README's counts;
# - know that `helpers.pruning.prune`, which later notebooks call, is those same lines with counts around them;
# - know how the course is organised (a core track and electives) and where its code lives;
# - answer an exercise, have it checked, and reveal a reference solution;
# - run the course locally, on Colab, or on a GPU.
#
# **Prerequisites**: Python, and a first contact with PyTorch (`nn.Module`, tensors). No GPU needed.
#
# **Track**: core
# **Study time**: about 15 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 12 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

# %%
# Colab only: fetch the course and install what Colab lacks, at the versions of pins.txt (does nothing
# elsewhere). What Colab has stays, its CUDA build of torch above all: the course runs on any torch>=2.11
# (pyproject.toml), and the pinned one would download gigabytes again.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    from importlib.metadata import distributions
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "https://github.com/channel-pruning-course/course",
                        "/content/course"], check=True)
        have = {str(d.name).lower().replace("_", "-") for d in distributions()}
        with open("/content/course/pins.txt") as f:
            lacking = [line for line in f if line.split("==")[0].strip() not in have]
        with open("/content/pins-colab.txt", "w") as f:
            f.writelines(lacking)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-c", "/content/pins-colab.txt",
                        "-e", "/content/course"], check=True)
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
# **1-(1-p)²** of its parameters. Here is what that means at `p = 0.3`:

# %%
# NBVAL_CHECK_OUTPUT
p = 0.3
naive, rule = p, helpers.theory.param_reduction(p)
print(f"p = {p}: the naive reading removes {naive:.0%} of the parameters, the rule removes {rule:.0%}")
assert rule > naive

# %% [markdown]
# The core track derives the rule (01-02), shows where real networks bend away from it and how to
# count them exactly (03-05), prunes real CNNs and hits a parameter budget (06, 08), measures what
# over-pruning costs in accuracy (10) and carries it all to transformers (13). The map below lists
# every notebook.
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
# This is Torch-Pruning's README quick start, written out: build a torchvision ResNet-18, count its
# parameters and MACs, give `BasePruner` an importance criterion (which channels to remove), the
# channel ratio (`pruning_ratio=0.5`: half of every layer's channels) and the layers to leave alone
# (the final classifier `fc`, whose 1000 outputs are the classes), call `step()`, and count again.
# The model has random weights (`weights=None`): a parameter count depends on the shapes of the
# tensors, not on their values, so nothing needs downloading.

# %%
# NBVAL_CHECK_OUTPUT
import torch
import torch_pruning as tp
import torchvision

model = torchvision.models.resnet18(weights=None).eval().to(device)
example_inputs = torch.randn(1, 3, 224, 224, device=device)  # one 224 x 224 RGB image
macs_before, params_before = tp.utils.count_ops_and_params(model, example_inputs)
pruner = tp.pruner.BasePruner(
    model, example_inputs,
    importance=tp.importance.GroupMagnitudeImportance(p=2),  # a channel's score: the L2 norm of its group's weights
    pruning_ratio=0.5,  # remove half of every group's channels
    ignored_layers=[model.fc],  # keep the 1000 classes
)
pruner.step()
macs_after, params_after = tp.utils.count_ops_and_params(model, example_inputs)
removed = 1 - params_after / params_before
print(f"parameters: {params_before:,} -> {params_after:,} ({removed:.1%} removed)")
print(f"MACs:       {macs_before:,.0f} -> {macs_after:,.0f}")
with torch.no_grad():
    print("output shape:", tuple(model(example_inputs).shape))
assert (params_before, params_after) == (11_689_512, 3_055_880)  # the two counts Torch-Pruning's README prints
assert 0.5 < removed < helpers.theory.param_reduction(0.5)
assert tuple(model(example_inputs).shape) == (1, 1000)

# %% [markdown]
# The counts match Torch-Pruning's README to the parameter, and the pruned model is still a working
# network with 1000 outputs. Half of the channels took far more than half of the parameters with them,
# a little less than the rule predicts (the exercise at the end asks you for that prediction; notebook
# 03 explains the gap). This is the course's reference pruning: later notebooks refer to these counts
# rather than pruning ResNet-18 at `p = 0.5` again.
#
# Later notebooks prune many models, so they call `helpers.pruning.prune(model, example_inputs,
# p, ignored_layers)`: it is the lines above, the count, `BasePruner` with the same importance,
# `step()`, the count again, and it returns the counts with the pruned model. On a fresh ResNet-18 it
# gives the same numbers:

# %%
# NBVAL_CHECK_OUTPUT
fresh = torchvision.models.resnet18(weights=None).eval().to(device)
result = helpers.pruning.prune(fresh, example_inputs, 0.5, ignored_layers=[fresh.fc])
print(f"helpers.pruning.prune: {result.params_before:,} -> {result.params_after:,} parameters, "
      f"{result.macs_before:,.0f} -> {result.macs_after:,.0f} MACs")
assert (result.params_before, result.params_after) == (params_before, params_after)
assert (result.macs_before, result.macs_after) == (macs_before, macs_after)

# %% [markdown]
# ## How the course is organised
#
# The **core track** is what a learner works through, in order; its study times add up to the
# course's stated length. The **electives** go deeper into one question each (reproducing
# Torch-Pruning's published log, latency, the accuracy statistics, pruning criteria, and a reference
# of Torch-Pruning's surprises) and can be read after the core notebook they build on. The map is
# generated from the notebooks' own title cells, like the README's:
#
# <!-- course-map:start -->
# | notebook | track | study time |
# |---|---|---:|
# | [00 · Start here](00_start_here.ipynb) | core | 15 min |
# | [01 · Counting parameters](01_counting_parameters.ipynb) | core | 20 min |
# | [02 · The quadratic law](02_the_quadratic_law.ipynb) | core | 35 min |
# | [03 · Where the rule bends](03_where_the_rule_bends.ipynb) | core | 25 min |
# | [04 · Groups and rounding](04_groups_and_rounding.ipynb) | core | 30 min |
# | [05 · The exact count](05_the_exact_count.ipynb) | core | 35 min |
# | [06 · Pruning real CNNs with Torch-Pruning](06_pruning_real_cnns.ipynb) | core | 35 min |
# | [07 · Reproducing Torch-Pruning's README](07_reproducing_the_readme.ipynb) | elective | 30 min |
# | [08 · Hitting a parameter budget](08_hitting_a_parameter_budget.ipynb) | core | 35 min |
# | [09 · MACs and latency](09_macs_and_latency.ipynb) | elective | 45 min |
# | [10 · The cost of over-pruning](10_the_cost_of_overpruning.ipynb) | core | 30 min |
# | [11 · What pruning buys](11_what_pruning_buys.ipynb) | elective | 60 min |
# | [12 · Criteria and sensitivity](12_criteria_and_sensitivity.ipynb) | elective | 50 min |
# | [13 · Beyond CNNs: transformers](13_beyond_cnns_transformers.ipynb) | core | 40 min |
# | [14 · Torch-Pruning pitfalls](14_torch_pruning_pitfalls.ipynb) | elective | 30 min |
#
# Core track: 10 notebooks, about 300 min of study (5.0 h); electives: 5 notebooks, about 215 min of study (3.6 h).
# <!-- course-map:end -->

# %% [markdown]
# Notebooks are numbered in reading order; each one names its prerequisites. Each lives in
# `notebooks/` twice: `NN_name.ipynb` (with stored outputs) and `NN_name.py`, the same notebook as a
# plain Python file, convenient for reading a diff. The times each notebook took when it was last run
# are recorded in `figures/notebook_times.csv`; `make notebooks` writes them into each notebook's
# title cell and the README's course map after every run.
#
# **The helpers.** Computation the notebooks share lives in the `helpers` package, tested on its
# own; the notebooks call it and explain what it does. Its main modules:

# %%
for name in ("theory", "zoo", "pruning", "predict", "env", "report", "checks"):
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
# Each notebook ends with a section `Exercises`. All exercises but this notebook's ask you to write a
# function, which the check runs, mostly on a fresh model against Torch-Pruning's own result; this
# one asks for a number.
# An exercise comes as three cells: the question; an answer cell, where you replace the `...` (or the
# body that raises `NotImplementedError`) with your answer and run it, and `helpers.checks.check`
# says whether it passes or, with a hint, what is wrong (an unanswered exercise says so); and a cell
# with the line `# helpers.checks.reveal("NN-name")`, which prints the reference solution once you
# uncomment it (the course's tests run every reference solution through its check, and a typical
# wrong answer to show that the check rejects it). The exercises of a notebook are listed by
# `helpers.checks.for_notebook`:

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
# data of notebooks 10-12 ships inside scikit-learn.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `00-rule-at-half`: what the rule predicts for the quick start
#
# The quick start above pruned ResNet-18 with `pruning_ratio=0.5`. Under the rule 1-(1-p)², what
# fraction of the parameters does `p = 0.5` remove? Answer as a fraction (e.g. `0.3`) or a
# percentage, worked out by hand. Try `0.5` first, the naive reading, to see what a hint looks like.

# %%
# NBVAL_CHECK_OUTPUT
answer = ...  # your answer here
passed = helpers.checks.check("00-rule-at-half", answer)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("00-rule-at-half")

# %% [markdown]
# ## Summary
#
# - `helpers.env.setup()` fixes the seeds and reports versions, device and mode; `COURSE_MODE` and
#   `COURSE_DEVICE` override the defaults.
# - Torch-Pruning's README quick start (`BasePruner` with group L2 importance, `pruning_ratio=0.5`,
#   the classifier ignored, `step()`) reproduces the README's ResNet-18 counts exactly on this machine,
#   and removes far more than half of the parameters.
# - `helpers.pruning.prune` is those lines with the counts around them and gives the same counts.
# - The core track is the course's spine; electives go deeper. The map above lists every notebook
#   with its track and study time.
# - Exercises are checked by `helpers.checks.check(name, answer)`; `helpers.checks.reveal(name)`
#   prints the reference solution.

# %% [markdown]
# ## Questions
#
# 1. The quick start builds ResNet-18 with random weights, yet its counts match a README that may have
#    used trained ones. Why? And what *would* change with trained weights?
#
#    <details><summary>Answer</summary>
#
#    A parameter count depends only on the shapes of the tensors, and `BasePruner` removes the same
#    number of channels from each group whatever the weights are. The weights decide *which* channels
#    go (the importance ranks them), so trained weights would keep other channels, with the same counts.
#
#    </details>
#
# 2. Why does the quick start pass `ignored_layers=[model.fc]`?
#
#    <details><summary>Answer</summary>
#
#    The outputs of `fc` are the 1000 classes. Pruning its output channels would delete classes, and
#    the model would no longer answer the question it was built for; the assert on the output shape
#    `(1, 1000)` checks that they stayed.
#
#    </details>
#
# 3. An assert in the quick start checks that the measured reduction lies between one half and the
#    rule's prediction. Why might a real network lose a little *less* than 1-(1-p)²?
#
#    <details><summary>Answer</summary>
#
#    The rule assumes every weight sits between two pruned layers and loses `p` of its rows and `p` of
#    its columns. Some tensors do not: the first convolution keeps its three colour inputs, the ignored
#    classifier keeps its outputs, and BatchNorm parameters have one dimension only, so they keep
#    `1-p` of themselves rather than `(1-p)²`. Notebook 03 measures each of these: in ResNet-18 the
#    ignored classifier accounts for nearly all of the gap.
#
#    </details>

# %% [markdown]
# ## Further reading
#
# - [Torch-Pruning](https://github.com/VainF/Torch-Pruning): the library the course uses; its README
#   holds the quick start run above.
# - Fang et al., [DepGraph: Towards Any Structural Pruning](https://arxiv.org/abs/2301.12900), CVPR
#   2023: the paper behind Torch-Pruning's dependency graph, which finds the layers that must shrink
#   together.
# - [PyTorch documentation](https://pytorch.org/docs/stable/): `nn.Module`, `nn.Conv2d` and the
#   tensors the course counts.
#
# Next: **01 · Counting parameters**.
