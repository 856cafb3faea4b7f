#!/usr/bin/python3
"""Packs ok.bin of the working folder into cifar-10-binary.tar.gz there, for tests/io/test_dataset_import.cpp
(CifarImport.RejectsTruncatedBatchesBadLabelsAndExtraLabelFiles).
"""
import tarfile
with tarfile.open('cifar-10-binary.tar.gz', 'w:gz') as t: t.add('ok.bin')
