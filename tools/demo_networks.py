"""Network definitions for the bundled Fashion-MNIST demo models (docs/experts.md, docs/metrics.md).

Everything here is TorchScript-scriptable so that `train_demo_experts.py` can export it for libtorch 1.13:

* `SmallUNet`: a 28 -> 14 -> 7 UNet (32/64/96 channels, ~1M parameters) with a sinusoidal noise embedding
  added to every residual block (the DDPM/NCSN++ pattern, written from the papers).
* `EDMPrecond`: EDM preconditioning (Karras et al. 2022, Table 1 and Eq. 7):
      D(x; σ) = c_skip(σ) x + c_out(σ) F(c_in(σ) x, c_noise(σ)),
      c_skip = σ_d² / (σ² + σ_d²),  c_out = σ σ_d / sqrt(σ² + σ_d²),  c_in = 1 / sqrt(σ² + σ_d²),
      c_noise = ln(σ) / 4,  σ_d = 0.5.
  Optionally the raw network also sees VDM-style Fourier features (Kingma et al. 2021, App. C) of the
  variance-preserving latent z = x / sqrt(1 + σ²) (≈ y at low noise): sin/cos(2^n π z) for n in `fourier_exponents`.
  They make fine pixel-level structure visible to the network, which is what the likelihood at low σ depends on.
  Its attributes (parameterization, sigma_min, ...) are ordinary TorchScript attributes so that C++ can read
  them with `module.attr("sigma_min")` (docs/experts.md).
* `FashionClassifier`: a small CNN; `features()` (the penultimate layer) is the demo FID feature extractor.
* `ClassifierFeatureExtractor`: the docs/metrics.md wrapper taking uint8 [B, 3, H, W].
"""
import math
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

SIGMA_DATA = 0.5


def _group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=min(8, channels // 4), num_channels=channels, eps=1e-6)


class NoiseEmbedding(nn.Module):
    """Sinusoidal embedding of the scalar c_noise (Transformer/DDPM positional encoding), then a 2-layer MLP."""

    def __init__(self, num_frequencies: int, dim: int):
        super().__init__()
        self.num_frequencies = num_frequencies
        self.mlp = nn.Sequential(nn.Linear(2 * num_frequencies, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        # Frequencies spaced geometrically from 1 to 1/1000 (as in DDPM's timestep embedding); c_noise = ln(σ)/4
        # lies in about [-1.6, 1.1] for σ in [0.002, 80], so scale it up first to use the high frequencies.
        idx = torch.arange(self.num_frequencies, dtype=torch.float32, device=c_noise.device)
        freqs = torch.exp(-math.log(1000.0) * idx / self.num_frequencies)
        angles = (c_noise.to(torch.float32) * 100.0)[:, None] * freqs[None, :]
        return self.mlp(torch.cat([torch.cos(angles), torch.sin(angles)], dim=1))


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv twice, noise embedding added in between, 1x1 skip when channels change."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = _group_norm(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch)
        self.norm2 = _group_norm(out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        # Start each residual branch at zero so that the untrained block is the identity (stable early training).
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Single-head self-attention over the 7x7 bottleneck (49 tokens: cheap, gives global context)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = _group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        attn = torch.softmax(torch.einsum("bci,bcj->bij", q, k) / math.sqrt(c), dim=-1)
        out = torch.einsum("bij,bcj->bci", attn, v).reshape(b, c, h, w)
        return x + self.proj(out)


class SmallUNet(nn.Module):
    """F(x_in, c_noise): 28x28 (32 ch) -> 14x14 (64 ch) -> 7x7 (96 ch) with attention, skip connections back up.

    One residual block per level and direction keeps it at ~95 MMAC per image (the machine is 2 shared cores);
    the width goes to the cheap 7x7 level.
    """

    def __init__(self, in_channels: int, out_channels: int = 1, emb_dim: int = 128, dropout: float = 0.0):
        super().__init__()
        c1, c2, c3 = 32, 64, 96
        self.embed = NoiseEmbedding(32, emb_dim)
        self.conv_in = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.enc28 = ResBlock(c1, c1, emb_dim, dropout)
        self.down14 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.enc14 = ResBlock(c1, c2, emb_dim, dropout)
        self.down7 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)
        self.enc7 = ResBlock(c2, c3, emb_dim, dropout)
        self.mid1 = ResBlock(c3, c3, emb_dim, dropout)
        self.mid_attn = SelfAttention(c3)
        self.mid2 = ResBlock(c3, c3, emb_dim, dropout)
        self.dec7 = ResBlock(c3 + c3, c3, emb_dim, dropout)
        self.up14 = nn.ConvTranspose2d(c3, c2, 2, stride=2)  # learned 2x upsampling, cheaper than conv after resize
        self.dec14 = ResBlock(c2 + c2, c2, emb_dim, dropout)
        self.up28 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec28 = ResBlock(c1 + c1, c1, emb_dim, dropout)
        self.norm_out = _group_norm(c1)
        self.conv_out = nn.Conv2d(c1, out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        emb = self.embed(c_noise)
        h28 = self.enc28(self.conv_in(x), emb)
        h14 = self.enc14(self.down14(h28), emb)
        h7 = self.enc7(self.down7(h14), emb)
        h = self.mid2(self.mid_attn(self.mid1(h7, emb)), emb)
        h = self.dec7(torch.cat([h, h7], dim=1), emb)
        h = self.dec14(torch.cat([self.up14(h), h14], dim=1), emb)
        h = self.dec28(torch.cat([self.up28(h), h28], dim=1), emb)
        return self.conv_out(F.silu(self.norm_out(h)))


class EDMPrecond(nn.Module):
    """D(x; σ) with EDM preconditioning around a SmallUNet; the exported expert of docs/experts.md (parameterization edm)."""

    fourier_exponents: List[int]  # annotated: TorchScript cannot infer the element type of an empty list

    def __init__(self, fourier_exponents: List[int], dropout: float = 0.0):
        super().__init__()
        self.fourier_exponents = fourier_exponents
        self.net = SmallUNet(in_channels=1 + 2 * len(fourier_exponents), out_channels=1, dropout=dropout)
        # docs/experts.md metadata, plain attributes (not Final, which TorchScript would inline as constants).
        self.parameterization = "edm"
        self.sigma_min = 0.002
        self.sigma_max = 80.0
        self.sigma_data = SIGMA_DATA
        self.channels = 1
        self.resolution = 28

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        c_skip, c_out, f = self.precondition_terms(x, sigma)
        return c_skip * x + c_out * f

    @torch.jit.export
    def precondition_terms(self, x: torch.Tensor, sigma: torch.Tensor):
        """(c_skip, c_out, F(c_in x, c_noise)); training writes its loss on F, which keeps it well scaled."""
        sig = sigma.to(torch.float32).reshape(-1, 1, 1, 1)
        x = x.to(torch.float32)
        sd2 = self.sigma_data * self.sigma_data
        c_skip = sd2 / (sig * sig + sd2)
        c_out = sig * self.sigma_data / torch.sqrt(sig * sig + sd2)
        c_in = 1.0 / torch.sqrt(sig * sig + sd2)
        c_noise = torch.log(sig.reshape(-1)) / 4.0
        net_in = c_in * x
        if len(self.fourier_exponents) > 0:
            z = x / torch.sqrt(1.0 + sig * sig)  # variance-preserving latent, ≈ y at low noise (VDM's input)
            feats: List[torch.Tensor] = [net_in]
            for n in self.fourier_exponents:
                angle = (2.0 ** n) * math.pi * z
                feats.append(torch.sin(angle))
                feats.append(torch.cos(angle))
            net_in = torch.cat(feats, dim=1)
        return c_skip, c_out, self.net(net_in, c_noise)


class FashionClassifier(nn.Module):
    """Three conv layers (28 -> 14 -> 7, ~6 MMAC per image) and a 128-d penultimate layer; input y in [-1, 1]."""

    def __init__(self, feature_dim: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, 10))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(y))

    def features(self, y: torch.Tensor) -> torch.Tensor:
        return self.body(y)


class ClassifierFeatureExtractor(nn.Module):
    """docs/metrics.md feature extractor: uint8 [B, 3, 28, 28] (gray repeated to 3 channels) -> float32 [B, feature_dim]."""

    def __init__(self, classifier: FashionClassifier, feature_dim: int):
        super().__init__()
        self.body = classifier.body
        self.head = classifier.head
        self.feature_dim = feature_dim
        self.name = "fashion-mnist-classifier"
        self.resolution = 28

    def _to_model_input(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.size(1) != 3 or images.size(2) != 28 or images.size(3) != 28:
            raise ValueError("fashion-mnist-classifier expects uint8 images [B, 3, 28, 28] (gray repeated to "
                             "3 channels); got shape " + str(images.shape))
        gray = images.to(torch.float32).mean(dim=1, keepdim=True)  # the 3 channels are equal copies
        return gray / 127.5 - 1.0  # docs/experts.md pixel scaling, as in training

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(self._to_model_input(images))

    @torch.jit.export
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self._to_model_input(images)))
