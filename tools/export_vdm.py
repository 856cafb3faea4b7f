#!/usr/bin/python3
"""Exports a PyTorch VDM epsilon network as a switchdiff `vdm` expert (docs/experts.md).

A VDM (Kingma et al. 2021) network takes the variance-preserving latent z and gamma = -log SNR and
predicts the noise: eps_hat = net(z, gamma), z, eps [B,C,H,W], gamma [B]. The source is either
  --torchscript FILE                       a TorchScript eps network forward(z, gamma), or
  --checkpoint FILE --module pkg.mod:Class  a state_dict (optionally under --state-key) for an
                                            instance of Class(**--module-kwargs) importable from
                                            --module-path.
The result is a scripted module forward(z: float32 [B,C,H,W], gamma: float32 [B]) -> eps with
attributes parameterization="vdm", sigma_min, sigma_max, channels, resolution, data_scale (and
source). switchdiff feeds it z = c x / sqrt(1 + c^2 sigma^2), gamma = 2 ln(c sigma) and uses
D = x - sigma eps, with c = data_scale = 127.5/128 for VDM's pixel scale (k - 127.5)/128.

The trained range comes from the noise schedule's end points: --gamma-min/--gamma-max (VDM's
CIFAR-10 model: -13.3 and 5.0) give sigma = exp(gamma/2)/c; or give --sigma-min/--sigma-max.
The export is reloaded and compared with the original network on random inputs across the range;
the file is written only if the largest |eps_export - eps_original| <= --tolerance (else exit 1).

Example:
  python3 tools/export_vdm.py --checkpoint vdm_cifar10.pt --module vdm_torch.model:ScoreUNet \\
      --module-path ~/src/vdm-pytorch --module-kwargs '{"n_blocks": 32}' --state-key ema \\
      --channels 3 --resolution 32 --gamma-min -13.3 --gamma-max 5.0 --out models/vdm-cifar10.pt
"""
import argparse
import importlib
import json
import math
import os
import sys

import torch
from torch import nn

from export_common import check_vjp, fail, sha256_of

VDM_DATA_SCALE = 127.5 / 128.0  # VDM pixels (k - 127.5)/128 versus EDM's k/127.5 - 1 (docs/experts.md)


class ExportedVdmExpert(nn.Module):
    """Scripted shell: the eps network plus the docs/experts.md metadata as real module attributes
    (plain annotated attributes; torch.jit.Final would make them constants C++ cannot read)."""

    parameterization: str
    sigma_min: float
    sigma_max: float
    channels: int
    resolution: int
    data_scale: float
    source: str

    def __init__(self, network, sigma_min: float, sigma_max: float, channels: int, resolution: int,
                 data_scale: float, source: str):
        super().__init__()
        self.network = network
        self.parameterization = "vdm"
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)
        self.channels = int(channels)
        self.resolution = int(resolution)
        self.data_scale = float(data_scale)
        self.source = source

    def forward(self, z: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        return self.network(z.to(torch.float32), gamma.to(torch.float32)).to(torch.float32)


def import_class(spec: str):
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        fail("--module {}: expected pkg.module:Class".format(spec))
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        fail("--module {}: cannot import {} ({}); add its folder with --module-path".format(spec, module_name, e))
    if not hasattr(module, class_name):
        fail("--module {}: {} has no {}".format(spec, module_name, class_name))
    return getattr(module, class_name)


def load_state_dict(path: str, key):
    try:
        data = torch.load(path, map_location="cpu")
    except FileNotFoundError:
        fail("--checkpoint {}: no such file".format(path))
    except Exception as e:  # torch.load raises many kinds (pickle, zip, runtime)
        fail("--checkpoint {}: cannot read it with torch.load ({}: {})".format(path, type(e).__name__, e))
    if isinstance(data, nn.Module):
        data = data.state_dict()
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            fail("--checkpoint {}: no entry '{}' (top-level keys: {})".format(
                path, key, sorted(data) if isinstance(data, dict) else type(data).__name__))
        data = data[key]
    if isinstance(data, nn.Module):
        data = data.state_dict()
    if not isinstance(data, dict) or not all(torch.is_tensor(v) for v in data.values()):
        keys = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
        fail("--checkpoint {}: not a state_dict of tensors (found {}); choose the entry with --state-key".format(
            path, keys))
    # Checkpoints saved from DataParallel / DistributedDataParallel prefix every name with 'module.'.
    if data and all(k.startswith("module.") for k in data):
        data = {k[len("module."):]: v for k, v in data.items()}
    return data


def build_network(args):
    """The eps network as a TorchScript module (scripted if possible, traced otherwise) and the original."""
    if args.torchscript:
        try:
            net = torch.jit.load(args.torchscript, map_location="cpu")
        except Exception as e:
            fail("--torchscript {}: cannot load it as TorchScript ({})".format(args.torchscript, str(e).splitlines()[0]))
        return net.eval(), net.eval(), os.path.basename(args.torchscript)
    if not args.checkpoint or not args.module:
        fail("give --torchscript FILE, or --checkpoint FILE with --module pkg.mod:Class")
    for folder in reversed(args.module_path or []):
        sys.path.insert(0, os.path.abspath(folder))
    cls = import_class(args.module)
    try:
        kwargs = json.loads(args.module_kwargs)
    except json.JSONDecodeError as e:
        fail("--module-kwargs {!r}: not JSON ({})".format(args.module_kwargs, e))
    net = cls(**kwargs)
    missing, unexpected = net.load_state_dict(load_state_dict(args.checkpoint, args.state_key), strict=False)
    if missing or unexpected:
        fail("--checkpoint {} does not fit {}(**{}): missing {}, unexpected {}".format(
            args.checkpoint, args.module, kwargs, missing[:8], unexpected[:8]))
    net = net.eval().requires_grad_(False)
    try:
        scripted = torch.jit.script(net)
        print("export_vdm.py: scripted {}".format(args.module))
    except Exception as e:
        print("export_vdm.py: cannot script {} ({}); tracing it instead".format(args.module, str(e).splitlines()[0]))
        example = probe_inputs(args.channels, args.resolution, [0.0, 1.0], seed=0)
        scripted = torch.jit.trace(net, example, check_trace=False)
    return scripted, net, os.path.basename(args.checkpoint)


def probe_inputs(channels: int, resolution: int, gammas, seed: int):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(len(gammas), channels, resolution, resolution, generator=g)
    return z, torch.tensor(gammas, dtype=torch.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torchscript", help="TorchScript eps network forward(z, gamma)")
    parser.add_argument("--checkpoint", help="torch.save'd state_dict (or dict holding one)")
    parser.add_argument("--state-key", help="entry of the checkpoint dict holding the state_dict (e.g. ema, model)")
    parser.add_argument("--module", help="network class as pkg.module:Class")
    parser.add_argument("--module-kwargs", default="{}", help="JSON object of constructor arguments")
    parser.add_argument("--module-path", action="append", help="folder to add to sys.path (repeatable)")
    parser.add_argument("--channels", type=int, help="image channels (default: the TorchScript's attribute)")
    parser.add_argument("--resolution", type=int, help="image height = width (default: the TorchScript's attribute)")
    parser.add_argument("--gamma-min", type=float, help="schedule's gamma at t=0 (VDM CIFAR-10: -13.3)")
    parser.add_argument("--gamma-max", type=float, help="schedule's gamma at t=1 (VDM CIFAR-10: 5.0)")
    parser.add_argument("--sigma-min", type=float, help="trained range minimum (instead of --gamma-min)")
    parser.add_argument("--sigma-max", type=float, help="trained range maximum (instead of --gamma-max)")
    parser.add_argument("--data-scale", type=float, default=VDM_DATA_SCALE, help="c (default 127.5/128)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |eps_export - eps_original|")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args()

    if os.path.exists(args.out) and not args.force:
        fail("{} exists; pass --force to overwrite it or choose another --out".format(args.out))
    if bool(args.torchscript) == bool(args.checkpoint):
        fail("give exactly one of --torchscript FILE or --checkpoint FILE (with --module)")
    torch.set_grad_enabled(False)
    c = args.data_scale
    if not c > 0:
        fail("--data-scale {} must be > 0".format(c))
    if args.torchscript and (args.channels is None or args.resolution is None):
        probe = torch.jit.load(args.torchscript, map_location="cpu") if os.path.exists(args.torchscript) else None
        for name in ["channels", "resolution"]:
            if getattr(args, name) is None and probe is not None and hasattr(probe, name):
                setattr(args, name, int(getattr(probe, name)))
    for name in ["channels", "resolution"]:
        if getattr(args, name) is None or getattr(args, name) <= 0:
            fail("--{} is required (a positive integer): the image shape the network was trained on".format(name))

    sigma_min = args.sigma_min if args.sigma_min is not None else (
        None if args.gamma_min is None else math.exp(args.gamma_min / 2) / c)
    sigma_max = args.sigma_max if args.sigma_max is not None else (
        None if args.gamma_max is None else math.exp(args.gamma_max / 2) / c)
    if sigma_min is None or sigma_max is None:
        fail("the trained noise range is required: --gamma-min/--gamma-max (VDM's CIFAR-10 schedule: -13.3 and 5.0) "
             "or --sigma-min/--sigma-max")
    if not 0 < sigma_min < sigma_max < math.inf:
        fail("trained range sigma [{}, {}] is not 0 < sigma_min < sigma_max".format(sigma_min, sigma_max))
    gamma_lo, gamma_hi = 2 * math.log(c * sigma_min), 2 * math.log(c * sigma_max)

    scripted, original, source = build_network(args)
    shell = torch.jit.script(ExportedVdmExpert(scripted, sigma_min, sigma_max, args.channels, args.resolution, c,
                                               source))
    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    shell.save(tmp)

    # Verify the saved file: constant-gamma batches at 7 levels across the range (sizes 1, 3, 5), one mixed batch.
    exported = torch.jit.load(tmp)
    levels = [gamma_lo + i * (gamma_hi - gamma_lo) / 6 for i in range(7)]
    batches = [[g] * (1 + 2 * (i % 3)) for i, g in enumerate(levels)] + [levels]
    worst = 0.0
    for seed, gammas in enumerate(batches, start=1):
        z, gamma = probe_inputs(args.channels, args.resolution, gammas, seed)
        expected = original(z, gamma).to(torch.float32)
        got = exported(z, gamma)
        if got.shape != z.shape:
            os.remove(tmp)
            fail("the network returned shape {} for z of shape {}; an eps network returns z's shape".format(
                tuple(got.shape), tuple(z.shape)))
        worst = max(worst, (got - expected).abs().max().item())
    print("export_vdm.py: {} -> {}: {}x{}x{}, sigma [{:g}, {:g}] (gamma [{:g}, {:g}]), data_scale {:g}, "
          "max |eps_export - eps_original| = {:.3g}".format(source, args.out, args.channels, args.resolution,
                                                           args.resolution, sigma_min, sigma_max, gamma_lo,
                                                           gamma_hi, c, worst))
    if not worst <= args.tolerance:
        os.remove(tmp)
        fail("the export differs from the original network by {:.3g} > --tolerance {:g}; nothing written".format(
            worst, args.tolerance))
    check_vjp(exported, z, gamma, tmp)
    os.replace(tmp, args.out)
    print("export_vdm.py: wrote {} (sha256 {})".format(args.out, sha256_of(args.out)))


if __name__ == "__main__":
    main()
