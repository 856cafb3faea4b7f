#!/usr/bin/python3
"""Exports NVIDIA's inception-2015-12-05 detector as a switchdiff feature extractor (docs/metrics.md).

EDM's fid.py (and StyleGAN2-ADA/3's metrics) compute FID with a TorchScript translation of the
TensorFlow Inception-v3 graph 'inception-2015-12-05', called as
    detector(images_uint8 [B,3,H,W], return_features=True) -> pool3 features [B, 2048]
(it resizes to 299x299 internally) and, for the Inception Score,
    detector(images_uint8, no_output_bias=True) -> softmax probabilities [B, 1008].
This tool wraps it into the extractor interface switchdiff loads:
    forward(images: uint8 [B,C,H,W]) -> float32 [B, 2048]   (C = 1 is repeated to 3 channels)
    logits(images) -> float32 [B, 1008] = log of those probabilities, so softmax(logits) gives them back
with attributes feature_dim=2048, name="inception-2015-12-05" (and source). --no-logits leaves the
logits method out (no Inception Score). The detector is read from a TorchScript file, or from a
pickle (EDM's inception-2015-12-05.pkl; pass --repo with the EDM/StyleGAN source tree if the pickle
needs it). A non-TorchScript detector is traced at --resolution.

The export is reloaded and compared with the detector on random images; the file is written only
if features (and probabilities) agree within --tolerance (else exit 1).

Example (EDM's detector; the .pkl or the StyleGAN2-ADA .pt):
  python3 tools/export_inception.py \\
      https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/metrics/inception-2015-12-05.pkl \\
      --repo ~/src/edm --resolution 32 --out models/inception-2015-12-05.pt
"""
import argparse
import io
import os
import pickle
import sys

import torch
from torch import nn

from export_common import fail, read_bytes, sha256_of

FEATURE_DIM = 2048  # Inception-v3 pool3


class DetectorCall(nn.Module):
    """Fixed-argument calls of a non-TorchScript detector, traced separately."""

    def __init__(self, detector, return_features: bool):
        super().__init__()
        self.detector = detector
        self.return_features = return_features

    def forward(self, images):
        if self.return_features:
            return self.detector(images, return_features=True)
        return self.detector(images, no_output_bias=True)


class InceptionFeatures(nn.Module):
    """forward(uint8 images) -> pool3 features; grayscale is repeated to 3 channels (docs/metrics.md).
    Metadata are plain annotated attributes (torch.jit.Final would make them unreadable constants)."""

    feature_dim: int
    name: str
    source: str

    def __init__(self, features, source: str):
        super().__init__()
        self.features = features
        self.feature_dim = FEATURE_DIM
        self.name = "inception-2015-12-05"
        self.source = source

    def rgb(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() == 4 and images.shape[1] == 1:
            return images.repeat(1, 3, 1, 1)
        return images

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(self.rgb(images)).to(torch.float32)


class InceptionFeaturesAndLogits(InceptionFeatures):
    """Adds logits(images) = log p(y|x) for the Inception Score (Salimans et al. 2016) with the
    output bias dropped as in EDM/StyleGAN's inception_score (no_output_bias=True)."""

    def __init__(self, features, probabilities, source: str):
        super().__init__(features, source)
        self.probabilities = probabilities

    @torch.jit.export
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        p = self.probabilities(self.rgb(images)).to(torch.float32)
        return torch.log(p.clamp_min(1e-30))


class ScriptedFeatures(nn.Module):
    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.detector(images, return_features=True)


class ScriptedProbabilities(nn.Module):
    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.detector(images, no_output_bias=True)


def load_detector(source: str):
    """TorchScript first (the .pt), else a pickle (EDM's .pkl) holding the detector module."""
    data = read_bytes(source, "the inception-2015-12-05 detector")
    try:
        return torch.jit.load(io.BytesIO(data), map_location="cpu")
    except RuntimeError:
        pass
    try:
        detector = pickle.loads(data)
    except ModuleNotFoundError as e:
        fail("{}: cannot import '{}' while unpickling; pass --repo with the EDM or StyleGAN3 source tree".format(
            source, e.name))
    except Exception as e:
        fail("{}: neither TorchScript nor a readable pickle ({}: {})".format(source, type(e).__name__, e))
    if not callable(detector):
        fail("{}: the pickle holds a {}, not a detector module".format(source, type(detector).__name__))
    return detector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("detector", help="inception-2015-12-05 detector: TorchScript .pt or pickle .pkl, path or URL")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--repo", help="source tree to add to sys.path for unpickling (EDM or StyleGAN3)")
    parser.add_argument("--resolution", type=int, default=32, help="image size for tracing and checks (default 32)")
    parser.add_argument("--no-logits", action="store_true", help="leave out the logits method")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed feature difference")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args()

    if os.path.exists(args.out) and not args.force:
        fail("{} exists; pass --force to overwrite it or choose another --out".format(args.out))
    if args.repo:
        sys.path.insert(0, os.path.abspath(args.repo))
    torch.set_grad_enabled(False)
    detector = load_detector(args.detector)
    if isinstance(detector, nn.Module):
        detector = detector.eval()
    g = torch.Generator().manual_seed(0)
    example = torch.randint(0, 256, (2, 3, args.resolution, args.resolution), dtype=torch.uint8, generator=g)

    features = detector(example, return_features=True)
    if tuple(features.shape) != (2, FEATURE_DIM):
        fail("{}: detector(images, return_features=True) gave shape {}, expected [B, {}]; is this "
             "inception-2015-12-05?".format(args.detector, tuple(features.shape), FEATURE_DIM))
    if isinstance(detector, torch.jit.ScriptModule):
        feature_net, probability_net = ScriptedFeatures(detector), ScriptedProbabilities(detector)
    else:
        feature_net = torch.jit.trace(DetectorCall(detector, True), (example,), check_trace=False)
        probability_net = None if args.no_logits else torch.jit.trace(DetectorCall(detector, False), (example,),
                                                                      check_trace=False)
    source = os.path.basename(args.detector.rstrip("/"))
    wrapper = (InceptionFeatures(feature_net, source) if args.no_logits
               else InceptionFeaturesAndLogits(feature_net, probability_net, source))
    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.jit.script(wrapper).save(tmp)

    # Verify the saved file at batch sizes 1 and 5, and grayscale input against its 3-channel copy.
    exported = torch.jit.load(tmp)
    worst_features, worst_probabilities = 0.0, 0.0
    for batch in [1, 5]:
        images = torch.randint(0, 256, (batch, 3, args.resolution, args.resolution), dtype=torch.uint8, generator=g)
        got = exported(images)
        worst_features = max(worst_features, (got - detector(images, return_features=True)).abs().max().item())
        if not args.no_logits:
            # Compare log-probabilities: a dropped or kept output bias shifts them all, however small p is.
            log_p = torch.log_softmax(exported.logits(images), dim=1)
            expected = torch.log(detector(images, no_output_bias=True).to(torch.float32).clamp_min(1e-30))
            worst_probabilities = max(worst_probabilities, (log_p - expected).abs().max().item())
    gray = torch.randint(0, 256, (3, 1, args.resolution, args.resolution), dtype=torch.uint8, generator=g)
    gray_ok = torch.equal(exported(gray), exported(gray.repeat(1, 3, 1, 1)))
    print("export_inception.py: {} -> {}: max |features| diff {:.3g}, max |log_softmax(logits) - log probs| {}".format(
        source, args.out, worst_features, "n/a" if args.no_logits else "{:.3g}".format(worst_probabilities)))
    if not (worst_features <= args.tolerance and worst_probabilities <= args.tolerance and gray_ok):
        os.remove(tmp)
        fail("the export does not reproduce the detector (tolerance {:g}, grayscale repeat ok: {}); nothing "
             "written".format(args.tolerance, gray_ok))
    os.replace(tmp, args.out)
    print("export_inception.py: wrote {} (sha256 {})".format(args.out, sha256_of(args.out)))


if __name__ == "__main__":
    main()
