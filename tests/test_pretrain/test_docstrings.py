"""The docstring examples of G2SD's modules run as written."""
import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    'module',
    ['mmkd.losses.g2sd', 'mmkd.pretrain.convert', 'mmkd.pretrain.mae'])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0, result
