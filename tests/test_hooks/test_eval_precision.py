from types import SimpleNamespace

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401
from mmkd.hooks import EvalPrecisionHook
from tests.utils import make_batch, tiny_pspnet


def _model():
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(ConfigDict(tiny_pspnet()))
    model.init_weights()
    return model.eval()


@torch.no_grad()
def test_predicts_as_the_model_cast_by_hand():
    model = _model()
    batch = make_batch('mmseg', size=(64, 64))
    # the reference: weights and normalised inputs cast to bf16 by hand
    ref = _model().to(torch.bfloat16)
    data = ref.data_preprocessor(batch, False)
    want = ref(data['inputs'].to(torch.bfloat16), data['data_samples'],
               'predict')
    full = model.test_step(batch)

    EvalPrecisionHook('bf16').before_test(SimpleNamespace(model=model))
    assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    got = model.test_step(batch)
    for g, w, f in zip(got, want, full):
        assert torch.equal(g.seg_logits.data, w.seg_logits.data)
        # and it is not the fp32 model: bf16 rounding shows in the logits
        assert not torch.equal(g.seg_logits.data, f.seg_logits.data)


def test_refuses_fp16_on_cpu_and_training():
    model = _model()
    with pytest.raises(ValueError, match="precision='fp16' on the CPU"):
        EvalPrecisionHook('fp16').before_test(SimpleNamespace(model=model))
    with pytest.raises(RuntimeError, match='for testing only'):
        EvalPrecisionHook('bf16').before_train(SimpleNamespace(model=model))
    with pytest.raises(ValueError, match='one of'):
        EvalPrecisionHook('int8')
