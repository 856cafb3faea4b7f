#!/usr/bin/python3
"""Writes an Inception-cost stand-in feature extractor for benchmarks/metrics (random weights, seed 0).

Inception-v3 (the FID detector) costs about 5.7 GFLOP per 299x299 image and returns 2048 pool features.
This stand-in resizes uint8 [B,3,H,W] images to 299x299 (as the detector does), then runs a plain strided
conv stack of about 6.7 GFLOP per image ending in global average pooling to 2048 features, plus
logits(images) -> [B, 1008]. Only the cost and the shapes matter; the features mean nothing.

Usage: /usr/bin/python3 benchmarks/metrics/make_bench_extractor.py --out FILE.pt
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F


class InceptionCostStandIn(nn.Module):
    name: str
    feature_dim: int

    def __init__(self):
        super().__init__()
        # (in, out, stride): 299 -> 149 -> 75 -> 75 -> 38 -> 19 -> 10, then 1x1 to 2048.
        widths = [(3, 32, 2), (32, 64, 2), (64, 192, 1), (192, 288, 2), (288, 768, 2), (768, 1280, 2)]
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, stride=s, padding=1) for i, o, s in widths])
        self.pool_features = nn.Conv2d(1280, 2048, 1)
        self.classify = nn.Linear(2048, 1008)
        self.name = "inception-cost-stand-in"
        self.feature_dim = 2048

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32) / 127.5 - 1.0
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        for conv in self.convs:
            x = F.relu(conv(x))
        return F.relu(self.pool_features(x)).mean(dim=(2, 3))

    @torch.jit.export
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.forward(images))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.jit.script(InceptionCostStandIn().eval()).save(args.out)


if __name__ == "__main__":
    main()
