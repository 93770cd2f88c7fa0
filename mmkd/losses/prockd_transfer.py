"""ProC-KD's transfer term and the logits it compares.

:func:`logit_transfer` is the KL (or soft cross-entropy) between the class
logits the student's head gives on its own features and on the teacher path;
:class:`_LogitRecorder` records those logits from the student's logits module
in training forwards, for :class:`mmkd.losses.ProCKDLoss` to read.
"""
from typing import List, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['logit_transfer']

_TRANSFERS = ('kl', 'soft_ce', 'feat_mse')
_ACTIVATIONS = ('softmax', 'sigmoid')


def logit_transfer(student: torch.Tensor,
                   target: torch.Tensor,
                   kind: Literal['kl', 'soft_ce'] = 'kl',
                   activation: Literal['softmax', 'sigmoid'] = 'softmax',
                   tau: float = 1.0) -> torch.Tensor:
    """``tau^2 * mean_positions sum_classes`` of KL(p_t || p_s) (``'kl'``) or
    of ``-p_t log p_s`` (``'soft_ce'``), in float32.

    Args:
        student (Tensor): Student logits, (B, C) or (B, C, H, W).
        target (Tensor): Target logits, same shape; detached here.
        kind (str): ``'kl'`` or ``'soft_ce'``. Defaults to 'kl'.
        activation (str): ``'softmax'`` over the class dim (dim 1) or
            ``'sigmoid'`` (one binary distribution per element, for
            sigmoid heads such as RetinaNet's). Defaults to 'softmax'.
        tau (float): Temperature. Defaults to 1.0.

    Returns:
        Tensor: A float32 scalar.

    Example:
        >>> s = torch.zeros(1, 2)
        >>> t = torch.tensor([[1.0986123, 0.]])  # log 3
        >>> round(logit_transfer(s, t).item(), 6)  # KL((.75,.25)||(.5,.5))
        0.130812
    """
    if student.shape != target.shape:
        raise ValueError('student and target logits should have one shape, '
                         f'but got {tuple(student.shape)} and '
                         f'{tuple(target.shape)}')
    with torch.autocast(device_type=student.device.type, enabled=False):
        s = student.float() / tau
        t = target.detach().float() / tau
        if activation == 'softmax':
            log_s, log_t = F.log_softmax(s, 1), F.log_softmax(t, 1)
            terms = log_t.exp() * ((log_t if kind == 'kl' else 0) - log_s)
        else:
            log_s, log_t = F.logsigmoid(s), F.logsigmoid(t)
            log_s1, log_t1 = F.logsigmoid(-s), F.logsigmoid(-t)
            p_t = torch.sigmoid(t)
            if kind == 'kl':
                terms = p_t * (log_t - log_s) + (1 - p_t) * (log_t1 - log_s1)
            else:
                terms = -p_t * log_s - (1 - p_t) * log_s1
        positions = terms.numel() // terms.shape[1]
        return terms.sum() / max(positions, 1) * tau**2


class _LogitRecorder:
    """Outputs of the student's logits module in training forwards, since
    the last start of a student forward (a pre-hook on its backbone clears
    them), so the loss reads the normal step's logits and then those of the
    teacher path. Records nothing in eval mode or under no_grad."""

    def __init__(self, model: nn.Module, path: str) -> None:
        self.calls: List[torch.Tensor] = []
        module = model.get_submodule(path)
        self.handles = [
            module.register_forward_hook(self._record),
            model.backbone.register_forward_pre_hook(self._clear)
        ]

    # Bound methods, not lambdas: a deep copy of the student (EMAHook)
    # then calls the copied recorder.
    def _clear(self, module, args) -> None:
        self.calls.clear()

    def _record(self, module, args, output) -> None:
        if module.training and torch.is_grad_enabled():
            self.calls.append(output)
