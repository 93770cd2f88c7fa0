"""Channel-wise distillation (Shu et al., ICCV 2021).

Each channel map is turned into a distribution over its spatial positions
(softmax over H*W with temperature ``tau``) and the student's distribution is
pulled to the teacher's with a KL divergence, summed over positions and
averaged over (N, C), times ``tau**2``. Same reduction as mmrazor's
``ChannelWiseDivergence``.
"""
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS

__all__ = ['channel_wise_divergence', 'ChannelWiseDivergence']


def channel_wise_divergence(student: torch.Tensor,
                            teacher: torch.Tensor,
                            tau: float = 1.0,
                            form: Literal['kl', 'ce'] = 'kl') -> torch.Tensor:
    """KL between per-channel spatial softmaxes, averaged over (N, C).

    Args:
        student (Tensor): Student maps, shape (N, C, H, W).
        teacher (Tensor): Teacher maps, same shape; treated as a constant.
        tau (float): Softmax temperature. Defaults to 1.0.
        form (str): 'kl' (mmrazor's value), or 'ce': the cross-entropy
            ``-sum p_t log p_s``, which adds the teacher's entropy (a
            constant: the same gradient) and is the value the official code
            of CWD and of G2SD logs. Defaults to 'kl'.

    Returns:
        Tensor: Scalar ``tau**2 / (N*C) * sum KL(teacher || student)`` (or
        the cross-entropy), computed in fp32 whatever the input dtype.
    """
    if form not in ('kl', 'ce'):
        raise ValueError(f"form should be 'kl' or 'ce', but got {form!r}")
    if student.shape != teacher.shape:
        raise ValueError(
            'channel_wise_divergence needs equal shapes, but got student '
            f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}; add '
            'a connector to align them')
    n, c = student.shape[:2]
    log_s = F.log_softmax(student.float().reshape(n * c, -1) / tau, dim=1)
    log_t = F.log_softmax(
        teacher.detach().float().reshape(n * c, -1) / tau, dim=1)
    if form == 'ce':
        return -(log_t.exp() * log_s).sum() * tau**2 / (n * c)
    return (log_t.exp() * (log_t - log_s)).sum() * tau**2 / (n * c)


@MODELS.register_module()
class ChannelWiseDivergence(nn.Module):
    """Channel-wise distillation loss (CWD).

    Args:
        tau (float): Temperature of the spatial softmax. Defaults to 1.0.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        form (str): 'kl' or 'ce' (see :func:`channel_wise_divergence`).
            Defaults to 'kl'.

    Example:
        >>> import torch
        >>> loss = ChannelWiseDivergence(tau=1.0)
        >>> s = torch.zeros(1, 1, 1, 2)
        >>> t = torch.tensor([[[[1.0, 0.0]]]])
        >>> round(loss(s, t).item(), 6)
        0.110944
    """

    def __init__(self,
                 tau: float = 1.0,
                 loss_weight: float = 1.0,
                 form: Literal['kl', 'ce'] = 'kl') -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau should be positive, but got {tau}')
        if form not in ('kl', 'ce'):
            raise ValueError(f"form should be 'kl' or 'ce', but got {form!r}")
        self.tau = tau
        self.loss_weight = loss_weight
        self.form = form

    def forward(self,
                student: torch.Tensor,
                teacher: torch.Tensor,
                data_samples=None) -> torch.Tensor:
        """Compute the weighted loss; ``data_samples`` is not used."""
        return self.loss_weight * channel_wise_divergence(
            student, teacher, self.tau, self.form)
