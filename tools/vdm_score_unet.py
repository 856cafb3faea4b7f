"""PyTorch port of google-research/vdm's ScoreUNet (model_vdm.py), parameter for parameter, for TorchScript.

Flax computes in NHWC; this port computes in NCHW and converts the weights once when loading:
a Conv kernel [kh, kw, in, out] becomes [out, in, kh, kw], a Dense kernel [in, out] becomes [out, in].
The network, with c = the model's config (google-research/vdm/configs/cifar10.py: sm_n_embd 128, sm_n_layer 32,
no attention in the down/up path, Fourier features on, gamma_min -13.3, gamma_max 5):
  t = (gamma - gamma_min) / (gamma_max - gamma_min)                    (config constants, not the learned schedule)
  cond = swish(dense1(swish(dense0([sinusoidal(1000 t, n_embd), conditioning = 0]))))
  h = conv_in([z, sin(2^k 2 pi z), cos(2^k 2 pi z)], k = 6, 7)          (Base2FourierFeatures(6, 8, 1))
  n_layer ResNet blocks down (each output kept), mid ResNet + attention + ResNet,
  n_layer + 1 ResNet blocks up on [h, popped skip], GroupNorm, swish, conv_out, and eps_hat = that + z.
GroupNorm is flax's default: 32 groups, epsilon 1e-6. Dropout (sm_pdrop) is off at evaluation.
VDM feeds conditioning = 0 for unconditional CIFAR-10, so dense0 has n_embd + 1 inputs and the last one is 0.
"""
import math
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from flax_msgpack import flatten

# configs/<name>.py's `config.model` entries the score network depends on.
CONFIGS = {
    "cifar10": dict(sm_n_embd=128, sm_n_layer=32, with_fourier_features=True, with_attention=False,
                    gamma_min=-13.3, gamma_max=5.0, gamma_type="learnable_scalar", channels=3, resolution=32),
}
GROUPS = 32  # flax.linen.GroupNorm's default num_groups
GROUP_NORM_EPS = 1e-6  # flax.linen.GroupNorm's default epsilon (PyTorch's default is 1e-5)
FOURIER_EXPONENTS = (6, 7)  # Base2FourierFeatures(start=6, stop=8, step=1) in ScoreUNet


class ResnetBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, cond_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, in_ch, eps=GROUP_NORM_EPS)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.cond_proj = nn.Linear(cond_dim, out_ch, bias=False)
        self.norm2 = nn.GroupNorm(GROUPS, out_ch, eps=GROUP_NORM_EPS)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        # The Dense 'nin_shortcut' on the channel axis is a 1x1 convolution in NCHW.
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.cond_proj(cond)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.shortcut(x) + h


class AttnBlock(nn.Module):
    """One-head self-attention over all H*W positions, residual (AttnBlock with num_heads=1)."""

    def __init__(self, ch: int):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, ch, eps=GROUP_NORM_EPS)
        self.q = nn.Linear(ch, ch)
        self.k = nn.Linear(ch, ch)
        self.v = nn.Linear(ch, ch)
        self.proj_out = nn.Linear(ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        h = self.norm(x).reshape(b, c, height * width).transpose(1, 2)  # [B, HW, C]
        q, k, v = self.q(h), self.k(h), self.v(h)
        weights = torch.softmax(torch.bmm(q / math.sqrt(c), k.transpose(1, 2)), dim=-1)  # [B, HW query, HW key]
        h = self.proj_out(torch.bmm(weights, v))
        return x + h.transpose(1, 2).reshape(b, c, height, width)


class Stage(nn.Module):
    """A ResNet block, then (with_attention) an attention block: one step of the down or up path."""

    def __init__(self, block: ResnetBlock, attn: nn.Module):
        super().__init__()
        self.block = block
        self.attn = attn

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.attn(self.block(x, cond))


class ScoreUNet(nn.Module):
    """forward(z [B,C,H,W], gamma [B]) -> eps_hat [B,C,H,W], float32."""

    gamma_min: float
    gamma_max: float
    n_embd: int
    with_fourier_features: bool

    def __init__(self, channels: int, sm_n_embd: int, sm_n_layer: int, with_fourier_features: bool,
                 with_attention: bool, gamma_min: float, gamma_max: float, **unused):
        super().__init__()
        n = sm_n_embd
        self.gamma_min = float(gamma_min)
        self.gamma_max = float(gamma_max)
        self.n_embd = n
        self.with_fourier_features = with_fourier_features
        self.dense0 = nn.Linear(n + 1, 4 * n)
        self.dense1 = nn.Linear(4 * n, 4 * n)
        in_ch = channels * (1 + 2 * len(FOURIER_EXPONENTS)) if with_fourier_features else channels
        self.conv_in = nn.Conv2d(in_ch, n, 3, padding=1)
        attn = lambda: AttnBlock(n) if with_attention else nn.Identity()  # noqa: E731
        self.down = nn.ModuleList([Stage(ResnetBlock(n, n, 4 * n), attn()) for _ in range(sm_n_layer)])
        self.mid_block_1 = ResnetBlock(n, n, 4 * n)
        self.mid_attn_1 = AttnBlock(n)
        self.mid_block_2 = ResnetBlock(n, n, 4 * n)
        self.up = nn.ModuleList([Stage(ResnetBlock(2 * n, n, 4 * n), attn()) for _ in range(sm_n_layer + 1)])
        self.norm_out = nn.GroupNorm(GROUPS, n, eps=GROUP_NORM_EPS)
        self.conv_out = nn.Conv2d(n, channels, 3, padding=1)

    def time_embedding(self, gamma: torch.Tensor) -> torch.Tensor:
        # Frequencies made in the input's dtype (float32 as in Flax; float64 when a test runs the port in double).
        half = self.n_embd // 2
        frequencies = torch.exp(torch.arange(half, dtype=gamma.dtype, device=gamma.device)
                                * -(math.log(10000.0) / (half - 1)))
        t = (gamma - self.gamma_min) / (self.gamma_max - self.gamma_min)
        arg = (t * 1000.0)[:, None] * frequencies[None, :]
        emb = torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)
        if self.n_embd % 2 == 1:
            emb = F.pad(emb, [0, 1])
        return emb

    def forward(self, z: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        temb = self.time_embedding(gamma)
        cond = torch.cat([temb, torch.zeros_like(temb[:, :1])], dim=1)  # conditioning = 0 (unconditional)
        cond = F.silu(self.dense1(F.silu(self.dense0(cond))))
        h = z
        if self.with_fourier_features:
            # Flax repeats each channel once per frequency (channel-major), then [sin..., cos...].
            exponents = torch.arange(6, 8, dtype=z.dtype, device=z.device)  # FOURIER_EXPONENTS
            k = exponents.shape[0]
            w = (torch.pow(2.0, exponents) * (2 * math.pi)).repeat(z.shape[1])[None, :, None, None]
            zf = w * torch.repeat_interleave(z, k, dim=1)
            h = torch.cat([z, torch.sin(zf), torch.cos(zf)], dim=1)
        h = self.conv_in(h)
        hs: List[torch.Tensor] = [h]
        for stage in self.down:
            h = stage(h, cond)
            hs.append(h)
        h = self.mid_block_2(self.mid_attn_1(self.mid_block_1(h, cond)), cond)
        for stage in self.up:
            h = stage(torch.cat([h, hs.pop()], dim=1), cond)
        eps = self.conv_out(F.silu(self.norm_out(h)))
        return eps + z  # ScoreUNet's base measure: eps_pred += z


# ---- Flax parameter names -> this port ---------------------------------------------------------------

def _conv(w):
    return w.transpose(3, 2, 0, 1)  # HWIO -> OIHW


def _dense(w):
    return w.T  # [in, out] -> [out, in]


def _dense_as_conv1x1(w):
    return w.T[:, :, None, None]


def _same(w):
    return w


def parameter_map(config: dict) -> List[Tuple[Tuple[str, ...], Tuple[int, ...], str, object]]:
    """[(flax path under the score model, flax shape, port state_dict name, flax -> port transform)]."""
    n, c = config["sm_n_embd"], config["channels"]
    entries = []

    def dense(flax, torch_name, n_in, n_out, bias=True):
        entries.append((flax + ("kernel",), (n_in, n_out), torch_name + ".weight", _dense))
        if bias:
            entries.append((flax + ("bias",), (n_out,), torch_name + ".bias", _same))

    def conv(flax, torch_name, n_in, n_out):
        entries.append((flax + ("kernel",), (3, 3, n_in, n_out), torch_name + ".weight", _conv))
        entries.append((flax + ("bias",), (n_out,), torch_name + ".bias", _same))

    def norm(flax, torch_name, ch):
        entries.append((flax + ("scale",), (ch,), torch_name + ".weight", _same))
        entries.append((flax + ("bias",), (ch,), torch_name + ".bias", _same))

    def resnet(flax_name, torch_name, n_in, n_out):
        f = (flax_name,)
        norm(f + ("GroupNorm_0",), torch_name + ".norm1", n_in)
        conv(f + ("conv1",), torch_name + ".conv1", n_in, n_out)
        dense(f + ("cond_proj",), torch_name + ".cond_proj", 4 * n, n_out, bias=False)
        norm(f + ("GroupNorm_1",), torch_name + ".norm2", n_out)
        conv(f + ("conv2",), torch_name + ".conv2", n_out, n_out)
        if n_in != n_out:
            entries.append((f + ("nin_shortcut", "kernel"), (n_in, n_out), torch_name + ".shortcut.weight",
                            _dense_as_conv1x1))
            entries.append((f + ("nin_shortcut", "bias"), (n_out,), torch_name + ".shortcut.bias", _same))

    def attention(flax_name, torch_name, ch):
        norm((flax_name, "GroupNorm_0"), torch_name + ".norm", ch)
        for part in ["q", "k", "v", "proj_out"]:
            dense((flax_name, part), torch_name + "." + part, ch, ch)

    dense(("dense0",), "dense0", n + 1, 4 * n)
    dense(("dense1",), "dense1", 4 * n, 4 * n)
    in_ch = c * (1 + 2 * len(FOURIER_EXPONENTS)) if config["with_fourier_features"] else c
    conv(("conv_in",), "conv_in", in_ch, n)
    for i in range(config["sm_n_layer"]):
        resnet("down.block_{}".format(i), "down.{}.block".format(i), n, n)
        if config["with_attention"]:
            attention("down.attn_{}".format(i), "down.{}.attn".format(i), n)
    resnet("mid.block_1", "mid_block_1", n, n)
    attention("mid.attn_1", "mid_attn_1", n)
    resnet("mid.block_2", "mid_block_2", n, n)
    for i in range(config["sm_n_layer"] + 1):
        resnet("up.block_{}".format(i), "up.{}.block".format(i), 2 * n, n)
        if config["with_attention"]:
            attention("up.attn_{}".format(i), "up.{}.attn".format(i), n)
    norm(("GroupNorm_0",), "norm_out", n)
    conv(("conv_out",), "conv_out", n, c)
    return entries


class ParameterError(ValueError):
    """The checkpoint's score-model tree does not fit the config (the message names the path and shapes)."""


def load_score_unet(config: dict, score_params: Dict, prefix: str) -> ScoreUNet:
    """The port with the weights of `score_params` (the nested dict under params/score_model).

    Every parameter of the config must be present with its exact shape and nothing else may be there;
    `prefix` is the tree path shown in messages (e.g. 'ema_params/score_model')."""
    net = ScoreUNet(**config)
    state = net.state_dict()
    entries = parameter_map(config)
    seen = set()
    for flax_path, shape, torch_name, transform in entries:
        node = score_params
        for depth, key in enumerate(flax_path):
            if not isinstance(node, dict) or key not in node:
                raise ParameterError("{}/{}: missing from the checkpoint (expected shape {}); is --config right "
                                     "for this checkpoint?".format(prefix, "/".join(flax_path[:depth + 1]), shape))
            node = node[key]
        value = np.asarray(node)
        if tuple(value.shape) != tuple(shape):
            raise ParameterError("{}/{}: shape {} in the checkpoint, {} expected for this config".format(
                prefix, "/".join(flax_path), tuple(value.shape), tuple(shape)))
        if not np.issubdtype(value.dtype, np.floating):
            raise ParameterError("{}/{}: dtype {}, expected a floating-point array".format(
                prefix, "/".join(flax_path), value.dtype))
        target = state[torch_name]
        converted = torch.from_numpy(np.ascontiguousarray(transform(value.astype(np.float32))))
        assert tuple(converted.shape) == tuple(target.shape), (torch_name, converted.shape, target.shape)
        target.copy_(converted)
        seen.add(flax_path)
    extra = sorted("/".join(p) for p in flatten(score_params) if p not in seen)
    if extra:
        raise ParameterError("{}: {} parameter(s) this config does not have, e.g. {}; is --config right for this "
                             "checkpoint?".format(prefix, len(extra), ", ".join(extra[:4])))
    mapped = {name for _, _, name, _ in entries}
    assert set(state) == mapped, sorted(set(state) ^ mapped)[:8]  # the port's own bookkeeping
    return net.eval().requires_grad_(False)


def parameter_count(config: dict) -> int:
    return sum(int(np.prod(shape)) for _, shape, _, _ in parameter_map(config))
