#!/usr/bin/python3
"""Train and export the bundled Fashion-MNIST demo models (docs/experts.md; the extractor: docs/metrics.md).

    /usr/bin/python3 tools/train_demo_experts.py quality    --work results/train/quality    --minutes 30
    /usr/bin/python3 tools/train_demo_experts.py likelihood --work results/train/likelihood --minutes 30
    /usr/bin/python3 tools/train_demo_experts.py classifier --work results/train/classifier --epochs 4

Each run writes checkpoints to --work every --checkpoint-minutes (and on SIGTERM/SIGINT) and resumes from the latest
one when started again; --minutes / --steps / --epochs are totals over all resumed runs. At the end (or with
--export-only) it exports TorchScript to --models (default models/) plus a provenance JSON <name>.json.

* quality: EDM loss (Karras et al. 2022, §5 and Table 1): ln σ ~ N(P_mean=-1.2, P_std=1.2), weight
  λ(σ) = (σ² + σ_d²)/(σ σ_d)², which equals 1/c_out² and makes the loss the plain MSE of the raw network output F.
* likelihood: continuous-time ELBO weighting (Kingma et al. 2021, VDM Eq. 17 written in σ): the diffusion term is
  ∫ ||y − D(y + σn; σ)||² / σ³ dσ = ∫ ||y − D||²/σ² d ln σ, so ln σ is drawn uniformly over [ln σ_min, ln σ_max]
  (low-discrepancy across the batch, as VDM) and the loss is ||y − D||²/σ² = ε-prediction MSE. The network also sees
  Fourier features of its input (VDM App. C). Its training loss times (ln σ_max − ln σ_min)/ln 2 is the diffusion
  term of the ELBO in bits/dim, which the log prints.
* classifier: a small CNN with cross-entropy; its 128-d penultimate features are the demo feature extractor
  ("FID with Fashion-MNIST classifier features").

CPU only, fixed seeds, one thread per process by default (the machine is shared; run under `nice`).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_networks import SIGMA_DATA, ClassifierFeatureExtractor, EDMPrecond, FashionClassifier  # noqa: E402
from demo_training_io import (DATA_DIR, StopFlag, load_checkpoint, load_fashion_mnist, log,  # noqa: E402
                              save_checkpoint, sha256_of, to_model_scale)

SIGMA_MIN, SIGMA_MAX = 0.002, 80.0
P_MEAN, P_STD = -1.2, 1.2
EXPERT_FOURIER = {"quality": [], "likelihood": [6, 7]}  # VDM uses n = 6..7 on 8-bit data scaled to [-1, 1]


# ---------------------------------------------------------------------------------------------- expert losses
def sample_sigma(kind, batch, gen):
    if kind == "quality":
        return torch.exp(P_MEAN + P_STD * torch.randn(batch, generator=gen))
    # Uniform in ln σ (= uniform in log-SNR); low-discrepancy: one uniform offset, evenly spaced strata (VDM).
    u = (torch.rand(1, generator=gen) + torch.arange(batch) / batch) % 1.0
    u = u[torch.randperm(batch, generator=gen)]
    return torch.exp(math.log(SIGMA_MIN) + u * (math.log(SIGMA_MAX) - math.log(SIGMA_MIN)))


def expert_losses(model, y, sigma, noise):
    """Per-sample pixel-mean losses: (EDM-weighted, ELBO-weighted), both written on the raw network output F.

    EDM: λ||D − y||² with λ = 1/c_out² equals ||F − (y − c_skip x)/c_out||².
    ELBO: ||D − y||²/σ² = (c_out/σ)² ||F − target||²  (the ε-prediction MSE).
    """
    x = y + sigma.reshape(-1, 1, 1, 1) * noise
    c_skip, c_out, f = model.precondition_terms(x, sigma)
    target = (y - c_skip * x) / c_out
    edm = (f - target).square().mean(dim=(1, 2, 3))
    elbo = edm * (c_out.reshape(-1) / sigma).square()
    return edm, elbo


ELBO_BPD_FACTOR = (math.log(SIGMA_MAX) - math.log(SIGMA_MIN)) / math.log(2.0)  # E_u[pixel-mean loss] -> bits/dim


@torch.no_grad()
def evaluate_expert(model, test_y, seed, count=512):
    """Fixed test images, σ and noise: mean EDM loss (σ log-normal) and ELBO diffusion term in bits/dim (ln σ uniform)."""
    gen = torch.Generator().manual_seed(seed)
    count = min(count, test_y.shape[0])
    y = test_y[:count]
    edm_sig = torch.exp(P_MEAN + P_STD * torch.randn(count, generator=gen))
    elbo_sig = torch.exp(math.log(SIGMA_MIN) + (torch.arange(count) + 0.5) / count
                         * (math.log(SIGMA_MAX) - math.log(SIGMA_MIN)))
    noise = torch.randn(y.shape, generator=gen)
    edm, elbo = [], []
    for i in range(0, count, 128):
        edm.append(expert_losses(model, y[i:i + 128], edm_sig[i:i + 128], noise[i:i + 128])[0])
        elbo.append(expert_losses(model, y[i:i + 128], elbo_sig[i:i + 128], noise[i:i + 128])[1])
    return {"test_edm_loss": float(torch.cat(edm).mean()),
            "test_elbo_diffusion_bpd": float(torch.cat(elbo).mean()) * ELBO_BPD_FACTOR}


def train_expert(args, arrays, stop):
    kind = args.model
    torch.manual_seed(args.seed)  # parameter initialisation
    model = EDMPrecond(EXPERT_FOURIER[kind])
    ema = EDMPrecond(EXPERT_FOURIER[kind])
    ema.load_state_dict(model.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    train_y = to_model_scale(arrays["train_images"])
    state = {"step": 0, "nimg": 0, "epoch": 0, "pos": 0, "elapsed": 0.0, "history": []}
    noise_gen = torch.Generator().manual_seed(args.seed + 1)
    ckpt = load_checkpoint(args.work)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["opt"])
        noise_gen.set_state(ckpt["noise_gen"])
        state = ckpt["state"]
        log(f"resumed {kind} at step {state['step']} ({state['elapsed'] / 60:.1f} min trained)")
    if not args.export_only:
        state.setdefault("commands", []).append(this_command())
        state["hyperparameters"] = expert_hyperparameters(args)  # the export records what training used
        run_expert_loop(args, kind, model, ema, opt, train_y, noise_gen, state, stop)
    return model, ema, state


def expert_hyperparameters(args):
    return {"seed": args.seed, "batch": args.batch, "lr": args.lr, "warmup_steps": args.warmup_steps,
            "grad_clip": args.grad_clip, "ema_halflife_img": args.ema_halflife_img, "ema_rampup": args.ema_rampup,
            "sigma_data": SIGMA_DATA, "fourier_exponents": EXPERT_FOURIER[args.model], "threads": args.threads}


def this_command():
    return " ".join(["/usr/bin/python3", "tools/train_demo_experts.py"] + sys.argv[1:])


def run_expert_loop(args, kind, model, ema, opt, train_y, noise_gen, state, stop):
    n = train_y.shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed * 1000 + state["epoch"]))
    t_start, t_ckpt = time.time(), time.time()
    elapsed0 = state["elapsed"]
    window = {"edm": 0.0, "elbo": 0.0, "count": 0, "t": time.time(), "nimg": state["nimg"]}
    model.train()
    while True:
        elapsed = elapsed0 + time.time() - t_start
        if (args.steps and state["step"] >= args.steps) or (args.minutes and elapsed >= 60 * args.minutes) \
                or stop.requested:
            break
        if state["pos"] + args.batch > n:  # new epoch: fresh permutation seeded by (seed, epoch) for resumability
            state["epoch"] += 1
            state["pos"] = 0
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed * 1000 + state["epoch"]))
        y = train_y[perm[state["pos"]:state["pos"] + args.batch]]
        state["pos"] += args.batch
        sigma = sample_sigma(kind, args.batch, noise_gen)
        noise = torch.randn(y.shape, generator=noise_gen)
        edm, elbo = expert_losses(model, y, sigma, noise)
        loss = (edm if kind == "quality" else elbo).mean()
        for g in opt.param_groups:  # linear warm-up (EDM uses a 10 Mimg ramp; scaled down to this budget)
            g["lr"] = args.lr * min(1.0, (state["step"] + 1) / args.warmup_steps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        state["step"] += 1
        state["nimg"] += args.batch
        # EMA with a half-life that ramps with training (EDM's ema_rampup): min(cap, ratio * images seen).
        halflife = min(args.ema_halflife_img, args.ema_rampup * state["nimg"])
        beta = 0.5 ** (args.batch / max(halflife, 1e-8))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.copy_(pm.detach().lerp(pe, beta))
        window["edm"] += float(edm.mean())
        window["elbo"] += float(elbo.mean())
        window["count"] += 1
        if state["step"] % args.log_every == 0:
            rate = (state["nimg"] - window["nimg"]) / max(time.time() - window["t"], 1e-9)
            entry = {"step": state["step"], "nimg": state["nimg"], "edm_loss": window["edm"] / window["count"],
                     "elbo_bpd": window["elbo"] / window["count"] * ELBO_BPD_FACTOR,
                     "minutes": (elapsed0 + time.time() - t_start) / 60}
            state["history"].append(entry)
            log(f"{kind} step {entry['step']} epoch {state['epoch']} nimg {entry['nimg']} {rate:.0f} img/s "
                f"edm_loss {entry['edm_loss']:.4f} elbo_diffusion_bpd(train,noisy) {entry['elbo_bpd']:.3f} "
                f"{entry['minutes']:.1f} min")
            window = {"edm": 0.0, "elbo": 0.0, "count": 0, "t": time.time(), "nimg": state["nimg"]}
        if time.time() - t_ckpt >= 60 * args.checkpoint_minutes:
            state["elapsed"] = elapsed0 + time.time() - t_start
            save_checkpoint(args.work, {"model": model.state_dict(), "ema": ema.state_dict(),
                                        "opt": opt.state_dict(), "noise_gen": noise_gen.get_state(), "state": state})
            t_ckpt = time.time()
            log(f"checkpoint at step {state['step']}")
    state["elapsed"] = elapsed0 + time.time() - t_start
    save_checkpoint(args.work, {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                                "noise_gen": noise_gen.get_state(), "state": state})
    log(f"{kind}: stopped at step {state['step']} after {state['elapsed'] / 60:.1f} min; checkpoint saved")


def export_expert(args, arrays, hashes, model, ema, state):
    ema.eval()
    test_y = to_model_scale(arrays["test_images"])
    scripted = torch.jit.script(ema)
    out_path = os.path.join(args.models, f"{args.model}.pt")
    scripted.save(out_path)
    # Round trip: the saved file must reproduce the eager EMA network (what C++ will load).
    loaded = torch.jit.load(out_path)
    x = test_y[:8] + 0.7 * torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    sigma = torch.full((8,), 0.7)
    with torch.no_grad():
        diff = float((loaded(x, sigma) - ema(x, sigma)).abs().max())
    if diff > 1e-5:
        raise RuntimeError(f"{out_path}: TorchScript output differs from eager by {diff}")
    metrics = evaluate_expert(ema, test_y, seed=12345)
    history = state["history"]
    provenance = {
        "model": args.model, "file": f"{args.model}.pt", "file_sha256": sha256_of(out_path),
        "kind": "EDM-preconditioned UNet denoiser D(x; sigma), docs/experts.md parameterization edm",
        "training_objective": ("EDM loss: ln sigma ~ N(-1.2, 1.2^2), weight (sigma^2+0.25)/(0.5 sigma)^2"
                               if args.model == "quality" else
                               "continuous-time ELBO: ln sigma ~ U[ln 0.002, ln 80], weight 1/sigma^2 on "
                               "||y - D||^2 (epsilon-prediction MSE); Fourier features n=6,7 of the VP latent"),
        "training_commands": state.get("commands", []), "export_command": this_command(),
        "seed": state.get("hyperparameters", {}).get("seed", args.seed),
        "data": {"dir": args.data, "sha256": hashes},
        "hyperparameters": state.get("hyperparameters", expert_hyperparameters(args)),
        "training_seconds": round(state["elapsed"], 1), "steps": state["step"], "images_seen": state["nimg"],
        "epochs": round(state["nimg"] / arrays["train_images"].shape[0], 3), "torch_version": torch.__version__,
        "final_train_losses_last_log": history[-1] if history else None,
        "final_test_losses_ema": metrics,
        "final_test_losses_note": "512 test images, fixed noise (seed 12345); elbo term excludes prior and "
                                  "reconstruction terms and uses EDM's [-1,1] scale",
        "parameter_count": sum(p.numel() for p in ema.parameters()),
        "attributes": {"parameterization": "edm", "sigma_min": SIGMA_MIN, "sigma_max": SIGMA_MAX,
                       "channels": 1, "resolution": 28},
    }
    write_json(os.path.join(args.models, f"{args.model}.json"), provenance)
    log(f"exported {out_path} ({os.path.getsize(out_path) / 2**20:.2f} MiB); test metrics {metrics}")


# ---------------------------------------------------------------------------------------------- classifier
def classifier_accuracy(model, images_y, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, images_y.shape[0], 500):
            correct += int((model(images_y[i:i + 500]).argmax(1) == labels[i:i + 500]).sum())
    return correct / images_y.shape[0]


def train_classifier(args, arrays, hashes, stop):
    torch.manual_seed(args.seed)
    model = FashionClassifier(feature_dim=128)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    train_y, train_l = to_model_scale(arrays["train_images"]), torch.from_numpy(arrays["train_labels"].astype(np.int64))
    test_y, test_l = to_model_scale(arrays["test_images"]), torch.from_numpy(arrays["test_labels"].astype(np.int64))
    state = {"epoch": 0, "elapsed": 0.0, "history": []}
    ckpt = load_checkpoint(args.work)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        state = ckpt["state"]
        log(f"resumed classifier after epoch {state['epoch']}")
    n = train_y.shape[0]
    while not args.export_only and state["epoch"] < args.epochs and not stop.requested:
        t0 = time.time()
        gen = torch.Generator().manual_seed(args.seed * 1000 + state["epoch"])
        perm = torch.randperm(n, generator=gen)
        # Cosine learning-rate decay over the planned epochs (per epoch, so a resumed run follows the same schedule).
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * state["epoch"] / args.epochs))
        model.train()
        total, count = 0.0, 0
        for i in range(0, n - args.batch + 1, args.batch):
            if stop.requested:  # the last checkpoint is the previous epoch's; a resumed run redoes this epoch
                log(f"classifier: stopped inside epoch {state['epoch'] + 1}; resume redoes it")
                return
            idx = perm[i:i + args.batch]
            y = train_y[idx]
            flip = torch.rand(y.shape[0], generator=gen) < 0.5  # horizontal flips: garments are near-symmetric
            y = torch.where(flip[:, None, None, None], y.flip(3), y)
            loss = F.cross_entropy(model(y), train_l[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss) * y.shape[0]
            count += y.shape[0]
        state["epoch"] += 1
        state["elapsed"] += time.time() - t0
        acc = classifier_accuracy(model, test_y, test_l)
        state["history"].append({"epoch": state["epoch"], "train_loss": total / count, "test_accuracy": acc})
        log(f"classifier epoch {state['epoch']} train_loss {total / count:.4f} test_acc {acc:.4f} "
            f"({time.time() - t0:.0f} s)")
        save_checkpoint(args.work, {"model": model.state_dict(), "opt": opt.state_dict(), "state": state})
    if state["epoch"] < args.epochs:
        log("classifier: stopped before the planned epochs; not exporting")
        return
    model.eval()
    acc = classifier_accuracy(model, test_y, test_l)
    if acc < args.min_accuracy:
        raise RuntimeError(f"classifier test accuracy {acc:.4f} < {args.min_accuracy} (the demo extractor needs >= 0.88); "
                           "train longer (--epochs)")
    extractor = torch.jit.script(ClassifierFeatureExtractor(model, feature_dim=128))
    out_path = os.path.join(args.models, "classifier_features.pt")
    extractor.save(out_path)
    loaded = torch.jit.load(out_path)
    u8 = torch.from_numpy(arrays["test_images"][:1000]).unsqueeze(1).repeat(1, 3, 1, 1)
    with torch.no_grad():
        acc_u8 = float((loaded.logits(u8).argmax(1) == test_l[:1000]).float().mean())
        diff = float((loaded(u8) - model.features(test_y[:1000])).abs().max())
    if diff > 1e-4:
        raise RuntimeError(f"{out_path}: uint8 feature path differs from training path by {diff}")
    provenance = {
        "model": "classifier_features", "file": "classifier_features.pt", "file_sha256": sha256_of(out_path),
        "name": "fashion-mnist-classifier", "feature_dim": 128,
        "kind": "docs/metrics.md feature extractor: uint8 [B,3,28,28] -> penultimate features [B,128]; logits() -> [B,10]. "
                "FID computed with it is 'FID with Fashion-MNIST classifier features', not Inception FID.",
        "command": this_command(),
        "seed": args.seed, "data": {"dir": args.data, "sha256": hashes},
        "hyperparameters": {"batch": args.batch, "lr": args.lr, "epochs": args.epochs, "augmentation": "hflip"},
        "training_seconds": round(state["elapsed"], 1), "epochs": state["epoch"],
        "threads": torch.get_num_threads(), "torch_version": torch.__version__,
        "final_train_loss": state["history"][-1]["train_loss"] if state["history"] else None,
        "test_accuracy": acc, "test_accuracy_uint8_path_first_1000": acc_u8,
        "parameter_count": sum(p.numel() for p in model.parameters()),
    }
    write_json(os.path.join(args.models, "classifier_features.json"), provenance)
    log(f"exported {out_path}; test accuracy {acc:.4f}")


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=["quality", "likelihood", "classifier"])
    p.add_argument("--work", required=True, help="checkpoint folder (resumed from when it holds checkpoint.pt)")
    p.add_argument("--models", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
    p.add_argument("--data", default=DATA_DIR, help="folder with the Fashion-MNIST IDX .gz files")
    p.add_argument("--seed", type=int, default=None, help="default: 1 quality, 2 likelihood, 3 classifier")
    p.add_argument("--minutes", type=float, default=0.0, help="expert training budget, wall-clock minutes (total)")
    p.add_argument("--steps", type=int, default=0, help="expert training budget in optimizer steps (total)")
    p.add_argument("--epochs", type=int, default=4, help="classifier epochs")
    p.add_argument("--min-accuracy", type=float, default=0.88, help="classifier export refuses below this")
    p.add_argument("--train-subset", type=int, default=0, help="use only the first N training images (smoke tests)")
    p.add_argument("--batch", type=int, default=None, help="default 64 experts, 128 classifier")
    p.add_argument("--lr", type=float, default=None, help="default 5e-4 experts, 2e-3 classifier")
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--ema-halflife-img", type=float, default=10000.0)
    p.add_argument("--ema-rampup", type=float, default=0.1)
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--export-only", action="store_true", help="export from the latest checkpoint, no training")
    p.add_argument("--no-export", action="store_true")
    args = p.parse_args(argv)
    is_clf = args.model == "classifier"
    args.seed = args.seed if args.seed is not None else {"quality": 1, "likelihood": 2, "classifier": 3}[args.model]
    args.batch = args.batch or (128 if is_clf else 64)
    args.lr = args.lr or (2e-3 if is_clf else 5e-4)
    if not is_clf and not args.export_only and not (args.minutes or args.steps):
        p.error("give a training budget: --minutes and/or --steps")
    return args


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.models, exist_ok=True)
    stop = StopFlag()
    arrays, hashes = load_fashion_mnist(args.data)
    if args.train_subset:
        arrays["train_images"] = arrays["train_images"][:args.train_subset]
        arrays["train_labels"] = arrays["train_labels"][:args.train_subset]
    log(f"{args.model}: data {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}; work {args.work}")
    if args.model == "classifier":
        train_classifier(args, arrays, hashes, stop)
        return
    model, ema, state = train_expert(args, arrays, stop)
    if not args.no_export and not stop.requested:
        export_expert(args, arrays, hashes, model, ema, state)


if __name__ == "__main__":
    main(sys.argv[1:])
