#!/usr/bin/python3
"""Python side of test_demo_models.cpp: runs the bundled models/*.pt with Debian's python3-torch on fixed
inputs and writes inputs and outputs as raw little-endian arrays, so the C++ test can check that LibTorch
gives the same numbers as the Python that trained and exported them.

    demo_models_reference.py MODELS_DIR FASHION_MNIST_T10K_IMAGES_GZ OUT_DIR

Writes to OUT_DIR: x.f32 [6,1,28,28] (test images plus noise at the six sigmas), sigma.f32 [6],
quality.f32 / likelihood.f32 (forward(x, sigma)), images.u8 [64,1,28,28] (first 64 test images),
features.f32 [64,128], logits.f32 [64,10] (the classifier's forward and logits).
"""
import gzip
import os
import sys

import numpy as np
import torch

SIGMAS = [0.002, 0.02, 0.2, 2.0, 20.0, 80.0]


def main(models, images_gz, out):
    torch.set_num_threads(1)
    with gzip.open(images_gz, "rb") as f:
        pixels = np.frombuffer(f.read()[16:16 + 64 * 784], np.uint8).reshape(64, 1, 28, 28)
    y = torch.from_numpy(pixels[:len(SIGMAS)].astype(np.float32)) / 127.5 - 1
    sigma = torch.tensor(SIGMAS, dtype=torch.float32)
    noise = torch.randn(y.shape, generator=torch.Generator().manual_seed(5))
    x = (y + sigma.view(-1, 1, 1, 1) * noise).float()
    x.numpy().tofile(os.path.join(out, "x.f32"))
    sigma.numpy().tofile(os.path.join(out, "sigma.f32"))
    with torch.no_grad():
        for name in ("quality", "likelihood"):
            net = torch.jit.load(os.path.join(models, name + ".pt")).eval()
            net(x, sigma).float().numpy().tofile(os.path.join(out, name + ".f32"))
        classifier = torch.jit.load(os.path.join(models, "classifier_features.pt")).eval()
        images = torch.from_numpy(pixels.copy())
        images.numpy().tofile(os.path.join(out, "images.u8"))
        rgb = images.repeat(1, 3, 1, 1)  # docs/metrics.md: grayscale is repeated to 3 channels
        classifier(rgb).float().numpy().tofile(os.path.join(out, "features.f32"))
        classifier.logits(rgb).float().numpy().tofile(os.path.join(out, "logits.f32"))
    print("wrote", out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
