"""Small stand-ins with the call signatures of the networks the exporters in tools/ meet in the wild.

They are written from the published interfaces, not copied: NVlabs EDM's *Precond modules
(img_channels, img_resolution, label_dim, use_fp16, sigma_min, sigma_max; forward(x, sigma,
class_labels=None, force_fp32=False, **model_kwargs) -> D, with Python control flow and tensors
created on x.device), a VDM epsilon network forward(z, gamma), and NVIDIA's inception-2015-12-05
detector forward(img_uint8, return_features=False, use_fp16=False, no_output_bias=False) that
returns pool features [B, 2048] or softmax probabilities [B, 1008].
"""
import math

import torch
from torch import nn
from torch.nn import functional as F


class TinyUNetStandin(nn.Module):
    """F(x, noise_labels, class_labels): conv net with sinusoidal noise embedding built on x.device
    (like EDM's PositionalEmbedding) and an optional class embedding."""

    def __init__(self, channels, label_dim=0, width=8):
        super().__init__()
        self.width = width
        self.conv_in = nn.Conv2d(channels, width, 3, padding=1)
        self.embed = nn.Linear(width, width)
        self.label_embed = nn.Linear(label_dim, width, bias=False) if label_dim else None
        self.conv_out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, x, noise_labels, class_labels=None):
        freqs = torch.arange(0, self.width // 2, dtype=torch.float32, device=x.device) / (self.width // 2)
        freqs = (1 / 10000) ** freqs
        angles = noise_labels.to(torch.float32).outer(freqs)
        emb = torch.cat([angles.cos(), angles.sin()], dim=1)
        if self.label_embed is not None and class_labels is not None:
            emb = emb + self.label_embed(class_labels)
        h = F.silu(self.conv_in(x) + self.embed(emb)[:, :, None, None])
        return self.conv_out(h)


class EDMPrecondStandin(nn.Module):
    """EDM preconditioning (Karras et al. 2022, Table 1) around TinyUNetStandin."""

    def __init__(self, img_resolution, img_channels, label_dim=0, use_fp16=False, sigma_min=0.0,
                 sigma_max=float("inf"), sigma_data=0.5):
        super().__init__()
        self.img_resolution, self.img_channels, self.label_dim = img_resolution, img_channels, label_dim
        self.use_fp16, self.sigma_min, self.sigma_max, self.sigma_data = use_fp16, sigma_min, sigma_max, sigma_data
        self.model = TinyUNetStandin(img_channels, label_dim)

    def forward(self, x, sigma, class_labels=None, force_fp32=False, **model_kwargs):
        x = x.to(torch.float32)
        sigma = sigma.to(torch.float32).reshape(-1, 1, 1, 1)
        if self.label_dim == 0:
            class_labels = None
        elif class_labels is None:
            class_labels = torch.zeros([1, self.label_dim], device=x.device)
        else:
            class_labels = class_labels.to(torch.float32).reshape(-1, self.label_dim)
        dtype = torch.float16 if (self.use_fp16 and not force_fp32 and x.device.type == "cuda") else torch.float32
        sd = self.sigma_data
        c_skip = sd**2 / (sigma**2 + sd**2)
        c_out = sigma * sd / (sigma**2 + sd**2).sqrt()
        c_in = 1 / (sd**2 + sigma**2).sqrt()
        c_noise = sigma.log() / 4
        f = self.model((c_in * x).to(dtype), c_noise.flatten(), class_labels, **model_kwargs)
        return c_skip * x + c_out * f.to(torch.float32)


class VPPrecondStandin(nn.Module):
    """VP preconditioning (Song et al. 2021 VP-SDE as in EDM Table 1): sigma(t) = sqrt(exp(beta_d t^2/2 +
    beta_min t) - 1); sigma_min/sigma_max are derived from epsilon_t and t = 1."""

    def __init__(self, img_resolution, img_channels, label_dim=0, use_fp16=False, beta_d=19.9, beta_min=0.1,
                 M=1000, epsilon_t=1e-5):
        super().__init__()
        self.img_resolution, self.img_channels, self.label_dim, self.use_fp16 = (
            img_resolution, img_channels, label_dim, use_fp16)
        self.beta_d, self.beta_min, self.M = beta_d, beta_min, M
        self.sigma_min = float(self.sigma(epsilon_t))
        self.sigma_max = float(self.sigma(1))
        self.model = TinyUNetStandin(img_channels, label_dim)

    def sigma(self, t):
        t = torch.as_tensor(t, dtype=torch.float64)
        return ((0.5 * self.beta_d * t**2 + self.beta_min * t).exp() - 1).sqrt()

    def sigma_inv(self, sigma):
        sigma = torch.as_tensor(sigma)
        return ((self.beta_min**2 + 2 * self.beta_d * (1 + sigma**2).log()).sqrt() - self.beta_min) / self.beta_d

    def forward(self, x, sigma, class_labels=None, force_fp32=False, **model_kwargs):
        x = x.to(torch.float32)
        sigma = sigma.to(torch.float32).reshape(-1, 1, 1, 1)
        class_labels = None if self.label_dim == 0 else (
            torch.zeros([1, self.label_dim], device=x.device) if class_labels is None
            else class_labels.to(torch.float32).reshape(-1, self.label_dim))
        c_skip = 1
        c_out = -sigma
        c_in = 1 / (sigma**2 + 1).sqrt()
        c_noise = (self.M - 1) * self.sigma_inv(sigma)
        f = self.model(c_in * x, c_noise.flatten(), class_labels, **model_kwargs)
        return c_skip * x + c_out * f.to(torch.float32)


class FrozenBranchStandin(EDMPrecondStandin):
    """Takes a data-dependent Python branch: tracing freezes it, so the export must be rejected."""

    def forward(self, x, sigma, class_labels=None, force_fp32=False, **model_kwargs):
        d = super().forward(x, sigma, class_labels, force_fp32)
        if float(sigma.max()) > 1.0:
            return d
        return d * 0.5


class VdmScoreStandin(nn.Module):
    """VDM-style epsilon network forward(z, gamma) -> eps (Kingma et al. 2021 score network interface);
    gamma is mapped to [0, 1] with the schedule end points as VDM's ScoreUNet does. Scriptable."""

    def __init__(self, channels=1, width=8, gamma_min=-13.3, gamma_max=5.0):
        super().__init__()
        self.gamma_min, self.gamma_max = gamma_min, gamma_max
        self.conv_in = nn.Conv2d(channels, width, 3, padding=1)
        self.embed = nn.Linear(2, width)
        self.conv_out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        t = (gamma - self.gamma_min) / (self.gamma_max - self.gamma_min)
        emb = self.embed(torch.stack([t, torch.sin(math.pi * t)], dim=1))
        return self.conv_out(F.silu(self.conv_in(z) + emb[:, :, None, None]))


class UnscriptableVdmStandin(VdmScoreStandin):
    """Same maths, but uses **kwargs, which torch.jit.script rejects: the exporter must fall back to tracing."""

    def forward(self, z, gamma, **unused):
        return super().forward(z, gamma)


class InceptionDetectorStandin(nn.Module):
    """The interface of NVIDIA's inception-2015-12-05 TorchScript detector: uint8 images of any size are
    resized internally; return_features=True gives [B, 2048] pool features, else softmax probabilities
    over 1008 classes (no_output_bias drops the last layer's bias, as EDM/StyleGAN's Inception Score does)."""

    def __init__(self, width=8):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.pool_features = nn.Linear(width, 2048)
        self.output = nn.Linear(2048, 1008)

    def forward(self, img: torch.Tensor, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False) -> torch.Tensor:
        assert img.dim() == 4 and img.shape[1] == 3
        x = img.to(torch.float32)
        x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
        x = (x - 128.0) / 128.0
        features = F.relu(self.pool_features(F.silu(self.conv(x)).mean(dim=(2, 3))))
        if return_features:
            return features
        logits = F.linear(features, self.output.weight)
        if not no_output_bias:
            logits = logits + self.output.bias
        return F.softmax(logits, dim=1)
