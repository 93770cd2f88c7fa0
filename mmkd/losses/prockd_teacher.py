"""A pre-trained MMPretrain classifier run at its own input size: ProC-KD's
cross-task teacher (an ImageNet ViT or Swin trained at 224 px) seeing a
detection or segmentation batch resized, instead of at the student's
resolution.

The Distiller hands every teacher the student's preprocessed batch
(renormalised with ``preprocessing='own'``). This subclass of
``ImageClassifier`` resizes that batch before its backbone; its state dict
is the ImageClassifier's, so MMPretrain checkpoints load unchanged. Use it by
overriding the type in the teacher's model dict::

    teacher=dict(config='mmpretrain::swin_transformer/swin-base_16xb64_in1k.py',
                 model=dict(type='mmkd.ResizedInputClassifier',
                            input_short_side=224, ...), ...)

The teacher's maps then sit on a coarser grid covering the same (padded)
canvas as the student's batch, and ProCKDLoss resamples them to the
student level's grid as it does at any size.
"""
from typing import Optional, Sequence

import torch.nn.functional as F
from mmpretrain.models import ImageClassifier

from mmkd.registry import MODELS

__all__ = ['ResizedInputClassifier']


@MODELS.register_module()
class ResizedInputClassifier(ImageClassifier):
    """An ``ImageClassifier`` whose ``extract_feat`` resizes its input.

    Args:
        input_size (Sequence[int], optional): (H, W) to resize every batch
            to. Defaults to None.
        input_short_side (int, optional): Resize so that the shorter side
            is this long, keeping the aspect ratio (rounded to whole
            pixels). Defaults to None.
        resize_mode (str): ``F.interpolate`` mode. Defaults to 'bilinear'.
        *args: Those of ``mmpretrain.models.ImageClassifier``.
        **kwargs: Those of ``mmpretrain.models.ImageClassifier``.

    Exactly one of ``input_size`` and ``input_short_side`` is given.
    """

    def __init__(self,
                 *args,
                 input_size: Optional[Sequence[int]] = None,
                 input_short_side: Optional[int] = None,
                 resize_mode: str = 'bilinear',
                 **kwargs) -> None:
        if (input_size is None) == (input_short_side is None):
            raise ValueError('ResizedInputClassifier needs exactly one of '
                             'input_size=(H, W) and input_short_side=S, but '
                             f'got {input_size!r} and {input_short_side!r}')
        super().__init__(*args, **kwargs)
        self.input_size = None if input_size is None else tuple(input_size)
        self.input_short_side = input_short_side
        self.resize_mode = resize_mode

    def target_size(self, height: int, width: int):
        """The (H, W) a batch of (height, width) is resized to."""
        if self.input_size is not None:
            return self.input_size
        scale = self.input_short_side / min(height, width)
        return (max(1, round(height * scale)), max(1, round(width * scale)))

    def extract_feat(self, inputs, stage: str = 'neck'):
        size = self.target_size(*inputs.shape[-2:])
        if tuple(inputs.shape[-2:]) != size:
            align = None if self.resize_mode == 'nearest' else False
            inputs = F.interpolate(
                inputs, size=size, mode=self.resize_mode, align_corners=align)
        return super().extract_feat(inputs, stage)
