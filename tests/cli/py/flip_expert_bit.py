#!/usr/bin/python3
"""Writes flipped.pt into the working folder, for tests/cli/test_cli_sample.cpp (CliSample.BitFlippedExpertFileIsRefusedAsDamaged):

    flip_expert_bit.py EXPERT_PT

a copy of EXPERT_PT with one bit flipped in the middle of the data of its largest zip entry.
"""
import sys, zipfile
src = sys.argv[1]
info = max(zipfile.ZipFile(src).infolist(), key=lambda i: i.file_size)
raw = bytearray(open(src, 'rb').read())
off = info.header_offset
start = off + 30 + int.from_bytes(raw[off + 26:off + 28], 'little') + int.from_bytes(raw[off + 28:off + 30], 'little')
raw[start + info.file_size // 2] ^= 0x10
open('flipped.pt', 'wb').write(bytes(raw))
