#!/usr/bin/python3
"""The likelihood noise streams drawn by torch from the documented seeds and call order
(src/likelihood/likelihood_noise.h; tests/likelihood/test_elbo_references.cpp,
NoiseStreamsFollowTheDocumentedTorchCalls).

usage: noise_streams_reference.py OUT.f64"""
import sys, torch
out = []
for j in (0, 5):
    g = torch.Generator().manual_seed(1000 + j)
    for r in range(2):
        u = torch.rand([1, 4, 4], generator=g)
        p = torch.randint(0, 2, [2, 1, 4, 4], generator=g) * 2 - 1
        eu = torch.rand([4], generator=g)
        en = torch.randn([4, 1, 4, 4], generator=g)
    out += [u.double().reshape(-1), p.double().reshape(-1), eu.double(), en.double().reshape(-1)]
torch.cat(out).numpy().astype("<f8").tofile(sys.argv[1])
