#!/usr/bin/python3
"""Imports google-research/vdm's Flax checkpoint (e.g. its public CIFAR-10 model) as a switchdiff `vdm` expert.

CHECKPOINT is the msgpack file flax.serialization.to_bytes wrote: clu.checkpoint's ckpt-N.flax (VDM's
training loop; the public gs://gresearch/vdm/cifar10/checkpoint-final/checkpoints-0 folder holds one), a
flax.training.checkpoints checkpoint_N file, or a folder holding either (the newest is taken). It is read
with python3-msgpack alone; neither flax nor jax is needed.

VDM's TrainState stores `params` and `ema_params` (EMA rate 0.9999, the weights VDM evaluates and samples
with); both hold {score_model: ScoreUNet, gamma: noise schedule}. --params auto (default) takes ema_params
when present, else params. The score model is ported to PyTorch parameter for parameter
(tools/vdm_score_unet.py) and exported with the docs/experts.md `vdm` metadata of tools/export_vdm.py. The learned
schedule gamma(t) = b + |w| t gives the trained range: sigma = exp(gamma/2)/c at t = 0 and 1, c = 127.5/128.

Checks before anything is written (exit 1 and nothing written if one fails):
  - every parameter of --config is in the checkpoint with its exact shape, and nothing else is;
  - the reloaded TorchScript file equals the eager port, values and one vector-Jacobian product, at
    gamma levels across the trained range (relative error <= --tolerance);
  - if flax, jax and VDM's code import (--vdm-repo: the folder holding the `vdm` package), the original
    Flax ScoreUNet on the same random inputs agrees with the port (relative error <= --tolerance);
    otherwise the script says that this comparison was skipped.

Example (the public CIFAR-10 model):
  gsutil cp -r gs://gresearch/vdm/cifar10/checkpoint-final/checkpoints-0 downloads/vdm-cifar10
  python3 tools/export_vdm_flax.py downloads/vdm-cifar10 --config cifar10 --out models/vdm-cifar10.pt
"""
import argparse
import math
import os
import re
import sys

import numpy as np
import torch

from export_common import fail, sha256_of
from export_vdm import VDM_DATA_SCALE, ExportedVdmExpert
import flax_msgpack
import vdm_score_unet

PARAM_CHOICES = {"auto": ["ema_params", "params"], "ema": ["ema_params"], "params": ["params"]}


def checkpoint_file(path: str) -> str:
    """The msgpack file itself, or the newest one in a checkpoint folder."""
    if not os.path.exists(path):
        fail("{}: no such file or folder; give VDM's checkpoint (ckpt-N.flax, checkpoint_N, or their folder)".format(
            path))
    if not os.path.isdir(path):
        return path
    numbered = []
    for name in os.listdir(path):
        m = re.fullmatch(r"(?:ckpt-(\d+)\.flax|checkpoint_(\d+))", name)
        if m:
            numbered.append((int(m.group(1) or m.group(2)), name))
    if not numbered:
        fail("{}: a folder without ckpt-N.flax (clu.checkpoint) or checkpoint_N (flax.training.checkpoints) "
             "files; give the checkpoint file itself".format(path))
    return os.path.join(path, max(numbered)[1])


def find_params(tree: dict, choice: str):
    """(path, params) of the tree holding score_model and gamma."""
    tried = []
    for key in PARAM_CHOICES[choice]:
        for path in [(key,), ("optimizer", "target", key), (key, "params")]:
            node = tree
            for k in path:
                node = node.get(k) if isinstance(node, dict) else None
            tried.append("/".join(path))
            if isinstance(node, dict) and "score_model" not in node and isinstance(node.get("params"), dict):
                node, path = node["params"], path + ("params",)
            if isinstance(node, dict) and "score_model" in node:
                return "/".join(path), node
    if choice == "auto" and "score_model" in tree:  # a bare variables['params'] tree
        return "", tree
    fail("no VDM parameters (a tree with score_model) at {} (top-level keys: {}); choose with --params".format(
        ", ".join(tried), sorted(tree)[:12]))


def learned_gamma_range(params: dict, prefix: str, config: dict):
    """gamma(0), gamma(1) of NoiseSchedule_Scalar: b and b + |w|."""
    if config["gamma_type"] != "learnable_scalar":
        fail("gamma_type {} is not supported (only learnable_scalar)".format(config["gamma_type"]))
    values = []
    for name in ["b", "w"]:
        path = "{}/gamma/{}".format(prefix, name) if prefix else "gamma/" + name
        node = params.get("gamma")
        value = node.get(name) if isinstance(node, dict) else None
        if value is None:
            fail("{}: missing from the checkpoint (expected shape (1,)): the learned noise schedule".format(path))
        value = np.asarray(value)
        if value.shape != (1,):
            fail("{}: shape {} in the checkpoint, (1,) expected".format(path, tuple(value.shape)))
        values.append(float(value[0]))
    b, w = values
    return b, b + abs(w)


def probe_inputs(channels: int, resolution: int, gammas, seed: int):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(len(gammas), channels, resolution, resolution, generator=g), torch.tensor(
        gammas, dtype=torch.float32)


def relative_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    return (got - expected).abs().max().item() / max(expected.abs().max().item(), 1e-30)


def compare_with_flax(config: dict, score_params: dict, port, batches, vdm_repo):
    """Largest relative |eps_port - eps_flax| on `batches`, or None (with the reason) without flax/VDM."""
    if vdm_repo:
        sys.path.insert(0, os.path.abspath(vdm_repo))
    try:
        import jax
        import jax.numpy as jnp
        from vdm import model_vdm
    except Exception as e:  # ImportError, or a jax/flax version that fails at import
        return None, "{}: {}".format(type(e).__name__, e)
    model_config = model_vdm.VDMConfig(
        vocab_size=256, sample_softmax=False, antithetic_time_sampling=True,
        with_fourier_features=config["with_fourier_features"], with_attention=config["with_attention"],
        gamma_type=config["gamma_type"], gamma_min=config["gamma_min"], gamma_max=config["gamma_max"],
        sm_n_timesteps=0, sm_n_embd=config["sm_n_embd"], sm_n_layer=config["sm_n_layer"], sm_pdrop=0.1)
    module = model_vdm.ScoreUNet(model_config)
    variables = {"params": jax.tree_util.tree_map(jnp.asarray, score_params)}
    worst = 0.0
    with jax.default_matmul_precision("float32"):
        for z, gamma in batches:
            eps = module.apply(variables, jnp.asarray(z.permute(0, 2, 3, 1).numpy()), jnp.asarray(gamma.numpy()),
                               jnp.zeros((z.shape[0],)), deterministic=True)
            expected = torch.from_numpy(np.asarray(eps, dtype=np.float32)).permute(0, 3, 1, 2)
            worst = max(worst, relative_error(port(z, gamma), expected))
    return worst, None


def self_check(path: str, port, batches):
    """Largest relative error of the reloaded file against the eager port: values, and one VJP per batch."""
    exported = torch.jit.load(path)
    worst_value, worst_vjp = 0.0, 0.0
    for i, (z, gamma) in enumerate(batches):
        with torch.no_grad():
            got, expected = exported(z, gamma), port(z, gamma)
        if got.shape != z.shape or got.dtype != torch.float32 or not torch.isfinite(got).all():
            fail("the export returned {} {} (finite: {}) for z {}".format(
                tuple(got.shape), got.dtype, bool(torch.isfinite(got).all()), tuple(z.shape)))
        worst_value = max(worst_value, relative_error(got, expected))
        if i == len(batches) - 1:  # the likelihood differentiates through the expert: check one VJP
            v = probe_inputs(z.shape[1], z.shape[2], [0.0] * z.shape[0], seed=99)[0]
            with torch.enable_grad():
                zg = z.clone().requires_grad_(True)
                (g_got,) = torch.autograd.grad((exported(zg, gamma) * v).sum(), zg)
                ze = z.clone().requires_grad_(True)
                port.requires_grad_(False)
                (g_expected,) = torch.autograd.grad((port(ze, gamma) * v).sum(), ze)
            if not torch.isfinite(g_got).all():
                fail("the export's vector-Jacobian product is not finite")
            worst_vjp = relative_error(g_got, g_expected)
    return worst_value, worst_vjp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="ckpt-N.flax / checkpoint_N msgpack file, or the folder holding it")
    parser.add_argument("--config", required=True, help="VDM config name: {}".format(", ".join(vdm_score_unet.CONFIGS)))
    parser.add_argument("--params", choices=sorted(PARAM_CHOICES), default="auto",
                        help="which weights: ema (ema_params), params, or auto = ema_params if present (default)")
    parser.add_argument("--sm-n-embd", type=int, help="override the config's width (sm_n_embd; for small tests)")
    parser.add_argument("--sm-n-layer", type=int, help="override the config's depth (sm_n_layer; for small tests)")
    parser.add_argument("--resolution", type=int, help="image resolution in the metadata (default: the config's)")
    parser.add_argument("--vdm-repo", help="folder holding VDM's `vdm` package, for the comparison with Flax")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed relative error (1e-4)")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args()

    if args.config not in vdm_score_unet.CONFIGS:
        fail("--config {}: unknown; known configs: {} (VDM's configs/<name>.py)".format(
            args.config, ", ".join(sorted(vdm_score_unet.CONFIGS))))
    if os.path.exists(args.out) and not args.force:
        fail("{} exists; pass --force to overwrite it or choose another --out".format(args.out))
    config = dict(vdm_score_unet.CONFIGS[args.config])
    for key, value in [("sm_n_embd", args.sm_n_embd), ("sm_n_layer", args.sm_n_layer),
                       ("resolution", args.resolution)]:
        if value is not None:
            if value < (1 if key != "sm_n_embd" else vdm_score_unet.GROUPS) or (
                    key == "sm_n_embd" and value % vdm_score_unet.GROUPS):
                fail("--{} {}: must be positive (sm_n_embd: a multiple of {})".format(
                    key.replace("_", "-"), value, vdm_score_unet.GROUPS))
            config[key] = value
    torch.set_grad_enabled(False)

    path = checkpoint_file(args.checkpoint)
    try:
        with open(path, "rb") as f:
            tree = flax_msgpack.read_state_dict(f.read())
    except OSError as e:
        fail("{}: cannot read it ({})".format(path, e))
    except flax_msgpack.FlaxFormatError as e:
        fail("{}: not a flax msgpack checkpoint: {}".format(path, e))
    prefix, params = find_params(tree, args.params)
    print("export_vdm_flax.py: {}: using {} (top level: {})".format(
        path, prefix or "the bare parameter tree", ", ".join(sorted(tree))))
    for name, sub in sorted(params.items()):
        count = sum(int(np.asarray(v).size) for v in flax_msgpack.flatten(sub).values()) if isinstance(
            sub, dict) else int(np.asarray(sub).size)
        print("export_vdm_flax.py:   {}: {} parameters".format(name, count))
    where = prefix + "/score_model" if prefix else "score_model"
    if not isinstance(params.get("score_model"), dict):
        fail("{}: not a parameter tree".format(where))
    gamma_0, gamma_1 = learned_gamma_range(params, prefix, config)
    try:
        port = vdm_score_unet.load_score_unet(config, params["score_model"], where)
    except vdm_score_unet.ParameterError as e:
        fail(str(e))

    c = VDM_DATA_SCALE
    if not gamma_0 < gamma_1:
        fail("{}/gamma: the learned schedule is flat (gamma(0) = gamma(1) = {:g})".format(prefix, gamma_0))
    sigma_min, sigma_max = math.exp(gamma_0 / 2) / c, math.exp(gamma_1 / 2) / c
    channels, resolution = config["channels"], config["resolution"]
    levels = [gamma_0 + i * (gamma_1 - gamma_0) / 6 for i in range(7)]
    batches = [probe_inputs(channels, resolution, [g] * (1 + 2 * (i % 3)), seed=i + 1) for i, g in enumerate(levels)]
    batches.append(probe_inputs(channels, resolution, levels, seed=100))

    flax_error, skipped = compare_with_flax(config, params["score_model"], port, batches, args.vdm_repo)
    if skipped:
        print("export_vdm_flax.py: comparison with the original Flax ScoreUNet SKIPPED (flax/jax/vdm not "
              "importable: {}); the port was checked against the TorchScript file only".format(skipped))
    else:
        print("export_vdm_flax.py: Flax ScoreUNet vs port: max relative error {:.3g}".format(flax_error))
        if not flax_error <= args.tolerance:
            fail("the port differs from the Flax ScoreUNet by {:.3g} (relative) > --tolerance {:g}; nothing "
                 "written".format(flax_error, args.tolerance))

    source = "{} ({}, config {})".format(os.path.basename(path), prefix or "params", args.config)
    scripted = torch.jit.script(port)
    shell = torch.jit.script(ExportedVdmExpert(scripted, sigma_min, sigma_max, channels, resolution, c, source))
    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    shell.save(tmp)
    worst_value, worst_vjp = self_check(tmp, port, batches)
    print("export_vdm_flax.py: {} parameters, {}x{}x{}, learned gamma [{:.6g}, {:.6g}] -> sigma [{:.6g}, {:.6g}], "
          "data_scale {:g}; TorchScript vs port: max relative error {:.3g} (values), {:.3g} (VJP)".format(
              vdm_score_unet.parameter_count(config), channels, resolution, resolution, gamma_0, gamma_1,
              sigma_min, sigma_max, c, worst_value, worst_vjp))
    if not (worst_value <= args.tolerance and worst_vjp <= args.tolerance):
        os.remove(tmp)
        fail("the TorchScript file differs from the port by {:.3g} (values) / {:.3g} (VJP) > --tolerance {:g}; "
             "nothing written".format(worst_value, worst_vjp, args.tolerance))
    os.replace(tmp, args.out)
    print("export_vdm_flax.py: wrote {} (sha256 {})".format(args.out, sha256_of(args.out)))


if __name__ == "__main__":
    main()
