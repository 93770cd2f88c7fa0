"""Evaluate a model in the precision a teacher would run in."""
import logging

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmkd.distillers.teacher import PRECISIONS, cpu_precision_warning
from mmkd.registry import HOOKS

__all__ = ['EvalPrecisionHook']


@HOOKS.register_module()
class EvalPrecisionHook(Hook):
    """Cast the model's weights once to ``precision`` before testing, and
    the data preprocessor's output with them: what
    ``teacher=dict(precision=...)`` does to a teacher, so that
    ``tools/test.py --precision bf16`` measures a teacher's metric as it
    would teach. The weights are not cast back (a bf16 round trip loses
    their low bits), so the hook refuses to run where training follows.

    Args:
        precision (str): 'bf16', 'fp16' or 'fp32'.
    """

    priority = 'LOW'  # after the checkpoint is loaded

    def __init__(self, precision: str = 'bf16') -> None:
        if precision not in PRECISIONS:
            raise ValueError(f'EvalPrecisionHook: precision should be one of'
                             f' {sorted(PRECISIONS)}, but got {precision!r}')
        self.precision = precision
        self.dtype = PRECISIONS[precision]

    def before_train(self, runner) -> None:
        raise RuntimeError(
            'EvalPrecisionHook casts the weights for good, so it is for '
            'testing only (tools/test.py --precision); remove it from a '
            "training config and set the teacher's precision= instead")

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        device = next(model.parameters()).device
        if device.type == 'cpu':
            slow = cpu_precision_warning(self.dtype, 'EvalPrecisionHook')
            if slow:
                print_log(slow, logger='current', level=logging.WARNING)
        model.to(self.dtype)
        dtype = self.dtype

        def cast_inputs(module, args, output):
            if isinstance(output, dict) and torch.is_tensor(
                    output.get('inputs')):
                output['inputs'] = output['inputs'].to(dtype)
            return output

        model.data_preprocessor.register_forward_hook(cast_inputs)
        print_log(
            f'EvalPrecisionHook: weights and inputs cast to {dtype}',
            logger='current')
