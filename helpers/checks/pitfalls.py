"""Exercises of notebook 14 (Torch-Pruning pitfalls), registered with ``helpers.checks``.

Each check runs the learner's function on a fresh torchvision model and compares the result with
Torch-Pruning's own; each reference solution below is what ``helpers.checks.reveal(name)`` prints.
"""
from . import Wrong, call, exercise

NOTEBOOK = "14_torch_pruning_pitfalls"
_SIDE = 32  # parameter counts and kept channels do not depend on the input size: small images keep checks quick


def _fresh(name: str, seed: int = 0):
    """A torchvision model with random weights (eval mode), an example image and its classifier."""
    import torch
    import torchvision

    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None).eval()
    classifier = model.fc if name.startswith("resnet") else model.classifier[-1]
    return model, torch.randn(1, 3, _SIDE, _SIDE), classifier


def _same_model(got, expected, inputs, what: str) -> None:
    """Wrong unless ``got`` is a module with ``expected``'s parameter shapes, values and outputs."""
    import torch
    from torch import nn

    if not isinstance(got, nn.Module):
        raise Wrong(f"{what} should return the model (an nn.Module), got {type(got).__name__}")
    shapes = [tuple(p.shape) for p in got.parameters()]
    if shapes != [tuple(p.shape) for p in expected.parameters()]:
        raise Wrong(f"{what} returned a model whose layers are not the pruned widths: replay the pruning "
                    "history on the fresh model before loading the weights")
    with torch.no_grad():
        same = torch.equal(got.eval()(inputs), expected.eval()(inputs))
    if not same:
        raise Wrong(f"{what} returned the pruned widths, but its outputs differ from the saved model's: "
                    "load the saved weights into it")


# ---- a pruned model, saved and loaded with torch.load's default -----------------------------------
def _check_load_pruned(fn):
    import os
    import tempfile

    import torch
    import torch_pruning as tp

    for name, p in (("resnet18", 0.3), ("mobilenet_v3_small", 0.5)):
        model, inputs, classifier = _fresh(name)
        pruner = tp.pruner.BasePruner(model, inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                      pruning_ratio=p, ignored_layers=[classifier])
        pruner.step()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "pruned.pt")
            torch.save({"history": pruner.pruning_history(), "weights": model.state_dict()}, path)
            try:
                loaded = call(fn, "load_pruned", path, lambda name=name: _fresh(name, seed=1)[0], inputs,
                              label=f"load_pruned(path, build, example_inputs) on a pruned {name}")
            except Wrong as why:
                if "size mismatch" in str(why):
                    raise Wrong(f"load_state_dict raised a size mismatch: a fresh {name} is wider than the pruned "
                                "one. Replay the pruning history on it first (tp.DependencyGraph()"
                                ".build_dependency(model, example_inputs).load_pruning_history(history))") from None
                raise
        _same_model(loaded, model, inputs, "load_pruned")


def _load_into_fresh(path, build, example_inputs):  # the typical mistake: the widths are not restored
    import torch

    model = build()
    model.load_state_dict(torch.load(path)["weights"])
    return model


@exercise("14-load-pruned", NOTEBOOK,
          "Write load_pruned(path, build, example_inputs) returning the pruned model saved at path by "
          "torch.save({'history': pruner.pruning_history(), 'weights': model.state_dict()}, path): build a "
          "fresh model with build(), replay the pruning history on it with Torch-Pruning's DependencyGraph, "
          "then load the weights. torch.load's default (weights_only=True) must do.",
          _check_load_pruned, wrong_example=lambda: _load_into_fresh)
def load_pruned_solution():
    import torch
    import torch_pruning as tp

    def load_pruned(path, build, example_inputs):
        saved = torch.load(path)  # plain tensors, lists and numbers: weights_only=True loads them
        model = build()
        graph = tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
        graph.load_pruning_history(saved["history"])  # the same channels removed again
        model.load_state_dict(saved["weights"])
        return model
    return load_pruned


# ---- Taylor importance with its gradients ----------------------------------------------------------
TAYLOR_RATIO = 0.3


def _conv_and_linear_weights(model):
    from torch import nn

    return [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _check_taylor_pruner(fn):
    import copy

    import torch

    model, inputs, _ = _fresh("resnet18")
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(8, 3, _SIDE, _SIDE, generator=generator)
    labels = torch.randint(0, 1000, (8,), generator=generator)
    references = []
    for mode in ("eval", "train"):  # the loss of the model as given (eval) or in training mode: both are fine
        reference = copy.deepcopy(model)
        getattr(reference, mode)()
        taylor_pruner_solution()(reference, inputs, images, labels, reference.fc, TAYLOR_RATIO).step()
        references.append(reference)
    learner = copy.deepcopy(model)
    pruner = call(fn, "taylor_pruner", learner, inputs, images, labels, learner.fc, TAYLOR_RATIO,
                  label="taylor_pruner(model, example_inputs, images, labels, classifier, 0.3)")
    if not hasattr(pruner, "step"):
        raise Wrong(f"return the pruner (a tp.pruner.BasePruner), got {type(pruner).__name__}")
    try:
        call(pruner.step, "pruner.step")
    except Wrong as why:
        if "NoneType" in str(why):
            raise Wrong("pruner.step() found no gradients (a weight's .grad is None): Taylor importance reads "
                        "them, so compute the cross-entropy loss of model(images) against labels and call its "
                        "backward() before returning the pruner") from None
        raise
    with torch.no_grad():
        classes = learner.eval()(inputs).shape[-1]
    if classes != 1000:
        raise Wrong(f"the pruned model outputs {classes} classes, not 1000: ignore the classifier")
    got = _conv_and_linear_weights(learner)
    for reference in references:
        expected = _conv_and_linear_weights(reference)
        if [w.shape for w in got] == [w.shape for w in expected] and all(map(torch.equal, got, expected)):
            return
    if any([w.shape for w in got] != [w.shape for w in _conv_and_linear_weights(r)] for r in references):
        raise Wrong(f"the pruned widths are not those of channel ratio {TAYLOR_RATIO} with local pruning")
    raise Wrong("the right widths, but other channels than Taylor importance keeps with the gradients of the "
                "cross-entropy loss of model(images) against labels: check the importance and the loss")


def _taylor_without_backward(model, example_inputs, images, labels, classifier, p):  # the typical mistake
    import torch_pruning as tp

    return tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.TaylorImportance(),
                                pruning_ratio=p, ignored_layers=[classifier])


@exercise("14-taylor-pruner", NOTEBOOK,
          "Write taylor_pruner(model, example_inputs, images, labels, classifier, p) returning Torch-Pruning's "
          "BasePruner with Taylor importance (tp.importance.TaylorImportance()), channel ratio p and the "
          "classifier ignored, ready to step: the gradients of the cross-entropy loss of model(images) against "
          "labels computed first. The check steps it on a fresh ResNet-18 and compares the channels kept.",
          _check_taylor_pruner, wrong_example=lambda: _taylor_without_backward)
def taylor_pruner_solution():
    import torch.nn.functional as F
    import torch_pruning as tp

    def taylor_pruner(model, example_inputs, images, labels, classifier, p):
        model.zero_grad()  # gradients add up over backward passes: start from none
        F.cross_entropy(model(images), labels).backward()  # what TaylorImportance reads: weight.grad
        return tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.TaylorImportance(),
                                    pruning_ratio=p, ignored_layers=[classifier])
    return taylor_pruner
