#!/usr/bin/python3
"""Independent numpy/scipy references for the metrics tests (run by the C++ tests, never by switchdiff).

Each subcommand reads .npy inputs and writes its numbers, one per line with 17 significant digits,
to the file given by --out. Formulas are written from the papers / reference definitions:
  fid_sqrtm   pytorch-fid's calculate_frechet_distance: np.cov statistics, scipy.linalg.sqrtm of
              Sigma1 Sigma2 (with its eps-offset retry and complex-part check), float64.
  fid_svd     exact FID from the data matrices: tr((S1^1/2 S2 S1^1/2)^1/2) equals the nuclear norm of
              Xc1^T Xc2 / sqrt((n1-1)(n2-1)) (Xc = centred data, rows = samples), so rank-deficient
              covariances need no matrix square root at all (numpy SVD, float64).
  fid_gauss   pytorch-fid's formula on given mu1, sigma1, mu2, sigma2 files.
  is          Inception Score as openai/improved-gan inception_score.py: 10 consecutive splits,
              exp(mean KL(p(y|x) || p(y))), mean and np.std over splits.
  mmd2        unbiased MMD^2, cubic polynomial kernel (Binkowski et al. 2018).
  kid         KID with the subsets drawn exactly as src/metrics/kid.cpp draws them (torch.randperm on a
              CPU generator seeded with --seed, first m of a permutation), MMD^2 in numpy.
  sha256      hashlib.sha256 of each given file.
  extract     MODEL.pt IMAGES.npy [--method forward|logits]: the TorchScript module's output on the images
              (cast to uint8), flattened, float64.
"""
import argparse
import hashlib

import numpy as np
import scipy.linalg


def frechet_sqrtm(mu1, sigma1, mu2, sigma2, eps=1e-6):
    diff = mu1 - mu2
    root, _ = scipy.linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(root).all():
        offset = np.eye(sigma1.shape[0]) * eps
        root = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(root):
        if not np.allclose(np.diagonal(root).imag, 0, atol=1e-3):
            raise SystemExit("sqrtm: imaginary component {}".format(np.max(np.abs(root.imag))))
        root = root.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root)


def fid_sqrtm(a, b):
    return frechet_sqrtm(a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False))


def fid_svd(a, b):
    ca = a - a.mean(axis=0)
    cb = b - b.mean(axis=0)
    cross = ca.dot(cb.T) / np.sqrt((a.shape[0] - 1) * (b.shape[0] - 1))
    trace_sqrt = np.linalg.svd(cross, compute_uv=False).sum()
    traces = (ca * ca).sum() / (a.shape[0] - 1) + (cb * cb).sum() / (b.shape[0] - 1)
    diff = a.mean(axis=0) - b.mean(axis=0)
    return diff.dot(diff) + traces - 2 * trace_sqrt


def inception_score(logits, splits):
    z = logits - logits.max(axis=1, keepdims=True)
    preds = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n = preds.shape[0]
    scores = []
    for i in range(splits):
        part = preds[(i * n // splits):((i + 1) * n // splits), :]
        py = np.mean(part, axis=0, keepdims=True)
        kl = part * (np.log(part) - np.log(py))
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    return np.mean(scores), np.std(scores)


def mmd2(x, y):
    d = x.shape[1]
    kxx = (x.dot(x.T) / d + 1) ** 3
    kyy = (y.dot(y.T) / d + 1) ** 3
    kxy = (x.dot(y.T) / d + 1) ** 3
    m, n = x.shape[0], y.shape[0]
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * kxy.sum() / (m * n))


def kid(a, b, subsets, max_size, seed):
    import torch
    generator = torch.Generator().manual_seed(seed)
    m = min(max_size, a.shape[0], b.shape[0])
    values = []
    for _ in range(subsets):
        ia = torch.randperm(a.shape[0], generator=generator)[:m].numpy()
        ib = torch.randperm(b.shape[0], generator=generator)[:m].numpy()
        values.append(mmd2(a[ia], b[ib]))
    return np.mean(values), np.std(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fid_sqrtm", "fid_svd", "fid_gauss", "is", "mmd2", "kid", "sha256",
                                            "extract"])
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--subsets", type=int, default=100)
    parser.add_argument("--max-subset-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", default="forward")
    args = parser.parse_args()
    if args.command == "sha256":
        lines = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in args.inputs]
    elif args.command == "extract":
        import torch
        torch.set_num_threads(1)
        module = torch.jit.load(args.inputs[0])
        images = torch.from_numpy(np.load(args.inputs[1])).to(torch.uint8)
        with torch.no_grad():
            out = getattr(module, args.method)(images)
        lines = ["{:.17g}".format(float(v)) for v in out.double().flatten()]
    else:
        arrays = [np.load(p).astype(np.float64) for p in args.inputs]
        if args.command == "fid_sqrtm":
            values = [fid_sqrtm(*arrays)]
        elif args.command == "fid_svd":
            values = [fid_svd(*arrays)]
        elif args.command == "fid_gauss":
            values = [frechet_sqrtm(*arrays)]
        elif args.command == "is":
            values = list(inception_score(arrays[0], args.splits))
        elif args.command == "mmd2":
            values = [mmd2(*arrays)]
        else:
            values = list(kid(arrays[0], arrays[1], args.subsets, args.max_subset_size, args.seed))
        lines = ["{:.17g}".format(float(np.real(v))) for v in values]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
