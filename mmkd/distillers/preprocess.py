"""Student and teacher input normalisation: compare them, and turn the
student's batch into the teacher's.

OpenMMLab data preprocessors (MMSegmentation's ``SegDataPreProcessor``,
MMDetection's ``DetDataPreprocessor``, MMPretrain's ``ClsDataPreProcessor``)
all convert the channel order, normalise with ``mean``/``std`` and then pad
with a value in the normalised space. A teacher trained with another
normalisation sees garbage if it gets the student's batch, so the Distiller
compares the two at build time (:func:`normalisation_of`) and, when asked
for the teacher's own preprocessing, maps the student's batch to the
teacher's normalisation (:func:`renormalise`). Working from the student's
preprocessed batch, rather than from the raw images, keeps the teacher's
input aligned pixel for pixel with the student's, batch augmentations
(resizing, padding) included, because those commute with a per-channel
affine map.
"""
from typing import List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn

__all__ = ['Normalisation', 'normalisation_of', 'renormalise']


class Normalisation(NamedTuple):
    """What a preprocessor does to pixel values."""
    mean: Optional[tuple]
    std: Optional[tuple]
    channel_conversion: bool
    pad_value: float

    def describe(self) -> str:
        return (f'mean={self.mean}, std={self.std}, '
                f'bgr_to_rgb={self.channel_conversion}, '
                f'pad_value={self.pad_value}')


def _values(tensor) -> Optional[tuple]:
    if tensor is None:
        return None
    return tuple(round(float(v), 6) for v in torch.as_tensor(tensor).flatten())


def normalisation_of(model: nn.Module) -> Optional[Normalisation]:
    """The normalisation of ``model.data_preprocessor``, or None if the model
    has none (a plain ``nn.Module``) or it does not normalise images."""
    pre = getattr(model, 'data_preprocessor', None)
    if pre is None or not hasattr(pre, 'mean'):
        return None
    enabled = getattr(pre, '_enable_normalize', True)
    conversion = getattr(pre, '_channel_conversion',
                         getattr(pre, 'channel_conversion', False))
    pad = getattr(pre, 'pad_value', getattr(pre, 'pad_val', 0))
    return Normalisation(
        mean=_values(pre.mean) if enabled else None,
        std=_values(pre.std) if enabled else None,
        channel_conversion=bool(conversion),
        pad_value=float(pad))


def _affine(norm: Normalisation, channels: int, like: torch.Tensor):
    mean = norm.mean if norm.mean is not None else (0., ) * channels
    std = norm.std if norm.std is not None else (1., ) * channels
    as_tensor = lambda v: like.new_tensor(v).view(1, -1, 1, 1)  # noqa: E731
    return as_tensor(mean), as_tensor(std)


def renormalise(inputs: torch.Tensor, image_shapes: Sequence[Sequence[int]],
                src: Normalisation, dst: Normalisation) -> torch.Tensor:
    """Map a batch preprocessed with ``src`` to what ``dst`` would give.

    Args:
        inputs (Tensor): The student's batch, (N, C, H, W), normalised and
            padded by ``src``.
        image_shapes (Sequence): (h, w) of each image inside the padded
            batch (``img_shape`` of the data samples); the rest is padding
            and gets ``dst.pad_value``.
        src (Normalisation): The student's normalisation.
        dst (Normalisation): The teacher's.

    Returns:
        Tensor: The teacher's batch, same shape, in float32 or the input's
        floating dtype.
    """
    c = inputs.shape[1]
    mean_s, std_s = _affine(src, c, inputs)
    mean_t, std_t = _affine(dst, c, inputs)
    raw = inputs * std_s + mean_s  # pixel values in the student's order
    if src.channel_conversion != dst.channel_conversion and c == 3:
        raw = raw.flip(1)
    out = (raw - mean_t) / std_t
    h_full, w_full = out.shape[-2:]
    padded: List[int] = [
        i for i, (h, w) in enumerate(image_shapes) if h < h_full or w < w_full
    ]
    for i in padded:  # only images smaller than the batch have padding
        h, w = image_shapes[i][:2]
        out[i, :, h:, :] = dst.pad_value
        out[i, :, :, w:] = dst.pad_value
    return out
