#!/usr/bin/python3
"""Exports an NVlabs EDM network pickle as a switchdiff `edm` expert (docs/experts.md).

EDM (Karras et al. 2022, github.com/NVlabs/edm) saves networks as pickles holding a dict whose
'ema' entry is an EDMPrecond / VPPrecond / VEPrecond / iDDPMPrecond module with img_channels,
img_resolution, sigma_min, sigma_max and forward(x, sigma, class_labels=None, force_fp32=False),
which already returns the denoiser D(x; sigma). Unpickling needs EDM's source tree on sys.path
(its torch_utils, dnnlib, training packages): pass --edm-repo PATH.

The network is traced (EDM's UNets are not scriptable) and wrapped in a scripted module
forward(x: float32 [B,C,H,W], sigma: float32 [B]) -> D, with the metadata attributes
parameterization="edm", sigma_min, sigma_max, channels, resolution (and source, class_label).
The trained range defaults to EDM's sampler rule (generate.py, edm_sampler):
sigma_min = max(0.002, net.sigma_min), sigma_max = min(80, net.sigma_max).

The export is then reloaded and compared with the original network on random inputs at noise
levels across the range and batch sizes other than the traced one; the file is written only if
the largest absolute difference is <= --tolerance (exit 1 otherwise).

Example:
  python3 tools/export_edm.py https://nvlabs-fi-cdn.nvidia.com/edm/pretrained/edm-cifar10-32x32-uncond-vp.pkl \
      --edm-repo ~/src/edm --device cuda --out models/edm-cifar10-uncond-vp.pt
"""
import argparse
import io
import math
import os
import pickle
import sys
from typing import Optional

import torch
from torch import nn

from export_common import check_vjp, fail, read_bytes, sha256_of

EDM_SAMPLER_SIGMA_MIN = 0.002  # EDM generate.py edm_sampler defaults (Karras et al. 2022, Table 1)
EDM_SAMPLER_SIGMA_MAX = 80.0


class PrecondCall(nn.Module):
    """The fixed-argument call of an EDM *Precond network that gets traced: D = net(x, sigma, labels)."""

    def __init__(self, net: nn.Module, class_labels: Optional[torch.Tensor], force_fp32: bool):
        super().__init__()
        self.net = net
        self.class_labels = class_labels  # one-hot [1, label_dim] or None
        self.force_fp32 = force_fp32

    def forward(self, x, sigma):
        labels = None if self.class_labels is None else self.class_labels.expand(x.shape[0], -1)
        return self.net(x, sigma, labels, force_fp32=self.force_fp32).to(torch.float32)


class ExportedEdmExpert(nn.Module):
    """Scripted shell holding the traced network and the docs/experts.md metadata as real module attributes
    (plain annotated attributes: torch.jit.Final would turn them into constants C++ cannot read)."""

    parameterization: str
    sigma_min: float
    sigma_max: float
    channels: int
    resolution: int
    class_label: int
    source: str

    def __init__(self, network, sigma_min: float, sigma_max: float, channels: int, resolution: int,
                 class_label: int, source: str):
        super().__init__()
        self.network = network
        self.parameterization = "edm"
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)
        self.channels = int(channels)
        self.resolution = int(resolution)
        self.class_label = int(class_label)
        self.source = source

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.network(x.to(torch.float32), sigma.to(torch.float32))


def load_network(source: str, key: str) -> nn.Module:
    """Unpickles an EDM network pickle (local path or URL) and returns data[key]."""
    raw = read_bytes(source, "an EDM network pickle")
    try:
        data = pickle.load(io.BytesIO(raw))
    except ModuleNotFoundError as e:
        fail("{}: cannot import '{}' while unpickling: EDM pickles need the EDM source tree; clone "
             "https://github.com/NVlabs/edm and pass --edm-repo PATH".format(source, e.name))
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as e:
        fail("{}: not a readable EDM network pickle ({}: {})".format(source, type(e).__name__, e))
    if isinstance(data, dict):
        if key not in data:
            fail("{}: the pickle has no '{}' entry (it has {}); choose one with --key".format(source, key, sorted(data)))
        data = data[key]
    if not isinstance(data, nn.Module):
        fail("{}: '{}' is a {}, not a torch.nn.Module".format(source, key, type(data).__name__))
    for attribute in ["img_channels", "img_resolution"]:
        if not hasattr(data, attribute):
            fail("{}: '{}' has no {} attribute; is it an EDM *Precond network?".format(source, key, attribute))
    return data


def make_class_labels(net: nn.Module, class_label: Optional[int], device: torch.device) -> Optional[torch.Tensor]:
    label_dim = int(getattr(net, "label_dim", 0) or 0)
    if label_dim == 0:
        if class_label is not None:
            fail("--class-label {} given but the network is unconditional (label_dim = 0)".format(class_label))
        return None
    if class_label is None or not 0 <= class_label < label_dim:
        fail("the network is class-conditional (label_dim = {}): pass --class-label K with 0 <= K < {} to "
             "export the class-K denoiser".format(label_dim, label_dim))
    labels = torch.zeros(1, label_dim, device=device)
    labels[0, class_label] = 1.0
    return labels


def probe_inputs(channels: int, resolution: int, sigmas, seed: int, device: torch.device):
    """Images in [-1, 1] plus noise at the given per-image sigmas."""
    g = torch.Generator().manual_seed(seed)
    sigma = torch.tensor(sigmas, dtype=torch.float32)
    y = torch.rand(len(sigmas), channels, resolution, resolution, generator=g) * 2 - 1
    x = y + sigma.reshape(-1, 1, 1, 1) * torch.randn(y.shape, generator=g)
    return x.to(device), sigma.to(device)


def probe_sigmas(sigma_min: float, sigma_max: float, count: int):
    """count noise levels spaced evenly in log sigma, the range's endpoints included."""
    if count == 1:
        return [math.sqrt(sigma_min * sigma_max)]
    step = (math.log(sigma_max) - math.log(sigma_min)) / (count - 1)
    return [math.exp(math.log(sigma_min) + i * step) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="EDM network pickle: local path or URL")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--edm-repo", help="folder of the NVlabs/edm source tree, added to sys.path")
    parser.add_argument("--key", default="ema", help="entry of the pickled dict holding the network (default ema)")
    parser.add_argument("--sigma-min", type=float, help="trained range minimum (default max(0.002, net.sigma_min))")
    parser.add_argument("--sigma-max", type=float, help="trained range maximum (default min(80, net.sigma_max))")
    parser.add_argument("--class-label", type=int, help="for class-conditional networks: the class to export")
    parser.add_argument("--device", default="cpu", help="device to trace on; trace where the expert will run "
                        "(EDM's UNets build tensors on x.device, which tracing records)")
    parser.add_argument("--allow-fp16", action="store_true", help="keep the network's fp16 path on CUDA "
                        "(default: force_fp32=True, the float32 network docs/experts.md assumes)")
    parser.add_argument("--batch", type=int, default=2, help="batch size of the tracing example (default 2)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |D_export - D_original|")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args()

    if os.path.exists(args.out) and not args.force:
        fail("{} exists; pass --force to overwrite it or choose another --out".format(args.out))
    if args.edm_repo:
        if not os.path.isdir(args.edm_repo):
            fail("--edm-repo {}: not a folder; give the root of a clone of github.com/NVlabs/edm".format(args.edm_repo))
        sys.path.insert(0, os.path.abspath(args.edm_repo))
    device = torch.device(args.device)
    torch.set_grad_enabled(False)

    net = load_network(args.network, args.key).eval().requires_grad_(False).to(device)
    channels, resolution = int(net.img_channels), int(net.img_resolution)
    sigma_min = args.sigma_min if args.sigma_min is not None else max(
        EDM_SAMPLER_SIGMA_MIN, float(getattr(net, "sigma_min", 0.0)))
    sigma_max = args.sigma_max if args.sigma_max is not None else min(
        EDM_SAMPLER_SIGMA_MAX, float(getattr(net, "sigma_max", math.inf)))
    if not 0 < sigma_min < sigma_max < math.inf:
        fail("trained range [{}, {}] is not 0 < sigma_min < sigma_max < inf; set --sigma-min/--sigma-max".format(
            sigma_min, sigma_max))
    labels = make_class_labels(net, args.class_label, device)
    call = PrecondCall(net, labels, force_fp32=not args.allow_fp16).eval()

    example = probe_inputs(channels, resolution, probe_sigmas(sigma_min, sigma_max, args.batch), 0, device)
    traced = torch.jit.trace(call, example, check_trace=False)
    source = os.path.basename(args.network.rstrip("/"))
    shell = ExportedEdmExpert(traced, sigma_min, sigma_max, channels, resolution,
                              -1 if args.class_label is None else args.class_label, source)
    scripted = torch.jit.script(shell)
    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    scripted.save(tmp)

    # Verify the saved file, not the in-memory module: batches of one noise level each (as a sampler calls
    # it) at 7 levels across the range, with sizes other than the traced one, plus one mixed batch.
    exported = torch.jit.load(tmp, map_location=device)
    worst = 0.0
    batches = [[s] * (1 + 2 * (i % 3)) for i, s in enumerate(probe_sigmas(sigma_min, sigma_max, 7))]
    for seed, sigmas in enumerate(batches + [probe_sigmas(sigma_min, sigma_max, args.batch + 3)], start=1):
        x, sigma = probe_inputs(channels, resolution, sigmas, seed, device)
        expected = call(x, sigma)
        got = exported(x, sigma)
        if got.shape != x.shape or got.dtype != torch.float32:
            os.remove(tmp)
            fail("export returned {} {} for input {}; expected float32 of the input's shape".format(
                tuple(got.shape), got.dtype, tuple(x.shape)))
        worst = max(worst, (got - expected).abs().max().item())
    print("export_edm.py: {} -> {}: {}x{}x{}, sigma [{:g}, {:g}], max |D_export - D_original| = {:.3g}".format(
        source, args.out, channels, resolution, resolution, sigma_min, sigma_max, worst))
    if not worst <= args.tolerance:
        os.remove(tmp)
        fail("the export differs from the original network by {:.3g} > --tolerance {:g}; nothing written (the "
             "network may have data-dependent Python control flow that tracing froze)".format(worst, args.tolerance))
    check_vjp(exported, x, sigma, tmp)
    os.replace(tmp, args.out)
    print("export_edm.py: wrote {} (sha256 {})".format(args.out, sha256_of(args.out)))


if __name__ == "__main__":
    main()
