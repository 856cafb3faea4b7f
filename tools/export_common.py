"""Pieces every exporter in tools/ shares: error exit, reading a local path or URL, file hashing, and the
differentiability check of a saved expert.

The exporters run as scripts (python3 tools/export_*.py), so this sibling module is importable.
"""
import hashlib
import os
import sys
import urllib.request

import torch


def fail(message: str) -> None:
    """Prints 'export_xxx.py: error: message' and exits 1 (bad input, as switchdiff's exit codes)."""
    print("{}: error: {}".format(os.path.basename(sys.argv[0]), message), file=sys.stderr)
    sys.exit(1)


def read_bytes(source: str, what: str) -> bytes:
    """The bytes of a local file or URL; `what` names the expected content in the error message."""
    try:
        if "://" in source:
            with urllib.request.urlopen(source) as response:
                return response.read()
        with open(source, "rb") as f:
            return f.read()
    except FileNotFoundError:
        fail("{}: no such file; give the path or URL of {}".format(source, what))
    except OSError as e:
        fail("{}: cannot read it ({})".format(source, e))


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_vjp(exported, first, second, tmp: str) -> None:
    """One vector-Jacobian product through the saved module, as the PF-ODE's divergence estimator takes it
    (d/dx of v . f(x, second)). A file the likelihood cannot differentiate (a network that detaches its input,
    runs under no_grad, or yields a non-finite gradient) is removed and never written."""
    x = first.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():  # the exporters run with gradients off
            out = exported(x, second)
            v = torch.randn(out.shape, generator=torch.Generator().manual_seed(0)).to(out)
            (grad,) = torch.autograd.grad((out * v).sum(), x)
    except RuntimeError as e:
        os.remove(tmp)
        fail("the export cannot be differentiated with respect to its input (one vector-Jacobian product failed: "
             "{}); the PF-ODE likelihood needs it. Remove .detach() / torch.no_grad() from the network's forward; "
             "nothing written".format(str(e).splitlines()[0]))
    if grad.shape != x.shape or not bool(torch.isfinite(grad).all()):
        os.remove(tmp)
        fail("the export's vector-Jacobian product is {} (shape {}); the PF-ODE likelihood needs a finite gradient "
             "of the input's shape; nothing written".format(
                 "non-finite" if grad.shape == x.shape else "misshapen", tuple(grad.shape)))
