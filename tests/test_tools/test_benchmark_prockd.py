"""The ProC-KD memory benchmark runs, and at a small size already shows the
literal [B, K, D, N] form above the identity (the docs' figure is made by
the same code at P3 scale)."""
import argparse
import sys

from tests.conftest import ROOT


def test_literal_form_needs_more_memory():
    sys.path.insert(0, str(ROOT / 'tools' / 'analysis'))
    from benchmark_prockd import measure
    args = argparse.Namespace(size=(16, 24), dim=32, prototypes=64, repeats=1)
    identity = measure(args, 'identity')
    literal = measure(args, 'literal')
    assert identity['tokens'] == literal['tokens'] == 384
    # the literal form holds at least its (K, D, N) tensor on top
    assert literal['live_peak_mib'] - identity['live_peak_mib'] >= \
        literal['bkdn_tensor_mib']
