#!/usr/bin/python3
"""Builds small, deliberately odd TorchScript feature extractors for the FeatureExtractor tests.

Usage: /usr/bin/python3 tests/metrics/make_odd_extractors.py --out DIR
  plain.pt            forward(uint8 [B,3,H,W]) -> float64 [B,5]; no name, no feature_dim, no logits
  nan_features.pt     like plain.pt but NaN features for images whose first pixel is 255
  wrong_rank.pt       forward returns [B] (one number per image)
  wrong_batch.pt      forward returns [1, 5] whatever B is
  dim_mismatch.pt     attribute feature_dim = 7, forward returns [B, 5]
  two_arguments.pt    forward(images, scale): not a feature extractor's signature
  bad_logits.pt       forward fine, logits(images, extra) has two arguments
  wide_2048.pt        forward -> [B, 2048], attribute name "wide", logits [B, 1008] (benchmark-size shapes)
"""
import argparse
import os

import torch
import torch.nn as nn


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.project = nn.Linear(3, 5).double()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.project(images.to(torch.float64).mean(dim=(2, 3)) / 255.0)


class NanFeatures(Plain):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        f = self.project(images.to(torch.float64).mean(dim=(2, 3)) / 255.0)
        bad = images[:, 0, 0, 0] == 255
        return torch.where(bad[:, None], torch.full_like(f, float("nan")), f)


class WrongRank(Plain):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(torch.float32).mean(dim=(1, 2, 3))


class WrongBatch(Plain):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.zeros(1, 5)


class DimMismatch(Plain):
    feature_dim: int

    def __init__(self):
        super().__init__()
        self.feature_dim = 7


class TwoArguments(nn.Module):
    def forward(self, images: torch.Tensor, scale: float) -> torch.Tensor:
        return images.to(torch.float32).mean(dim=(2, 3)) * scale


class BadLogits(Plain):
    @torch.jit.export
    def logits(self, images: torch.Tensor, extra: int) -> torch.Tensor:
        return self.forward(images)


class Wide(nn.Module):
    name: str

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 3, padding=1)
        self.project = nn.Linear(64, 2048)
        self.classify = nn.Linear(2048, 1008)
        self.name = "wide"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32) / 127.5 - 1.0
        return torch.relu(self.project(torch.relu(self.conv(x)).mean(dim=(2, 3))))

    @torch.jit.export
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.forward(images))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    modules = {"plain.pt": Plain(), "nan_features.pt": NanFeatures(), "wrong_rank.pt": WrongRank(),
               "wrong_batch.pt": WrongBatch(), "dim_mismatch.pt": DimMismatch(), "two_arguments.pt": TwoArguments(),
               "bad_logits.pt": BadLogits(), "wide_2048.pt": Wide()}
    for name, module in modules.items():
        torch.jit.script(module.eval()).save(os.path.join(args.out, name))


if __name__ == "__main__":
    main()
