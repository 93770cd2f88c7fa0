"""Initialise parts of the student from the teacher's weights.

The "inheritance strategy" of FGD, MGD, MasKD and ACAM-KD (arXiv
2503.06307: "to stabilise early training"): a ResNet-50 detector's neck and
head have the same shapes as the ResNet-101 teacher's, so they start from
the teacher's trained weights instead of a random init. Tensors are matched
by name and shape; whatever does not match is kept and listed.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

__all__ = ['inherit_from_teacher']


def _under(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + '.') for p in prefixes)


@torch.no_grad()
def inherit_from_teacher(
        student: nn.Module,
        teacher: nn.Module,
        prefixes: Sequence[str] = ('neck', 'bbox_head'),
        logger: str = 'current') -> Tuple[List[str], List[str]]:
    """Copy the teacher's parameters and buffers into the student under
    ``prefixes`` wherever the name and the shape match.

    Call it after the student's ``init_weights()`` (which would overwrite
    the copy) and after the teacher's checkpoint is loaded. Both lists are
    logged through mmengine's current logger.

    Args:
        student (nn.Module): The model to initialise, changed in place.
        teacher (nn.Module): The model to copy from.
        prefixes (Sequence[str]): Module paths of the student to fill, e.g.
            ``('neck', 'bbox_head')`` for RetinaNet or
            ``('neck', 'rpn_head', 'roi_head')`` for Faster R-CNN.
            Defaults to ('neck', 'bbox_head').
        logger (str): mmengine ``print_log`` target of the two lists
            (``'silent'`` for none). Defaults to 'current'.

    Returns:
        tuple[list[str], list[str]]: ``copied`` names, and ``skipped``
        entries (``'name: reason'``) of the student under the prefixes that
        kept their own values.

    Example:
        >>> import torch.nn as nn
        >>> s = nn.ModuleDict(dict(neck=nn.Conv2d(4, 8, 1)))
        >>> t = nn.ModuleDict(dict(neck=nn.Conv2d(4, 8, 1)))
        >>> copied, skipped = inherit_from_teacher(s, t, ['neck'], 'silent')
        >>> copied, skipped
        (['neck.weight', 'neck.bias'], [])
    """
    if isinstance(prefixes, str) or not prefixes:
        raise TypeError('prefixes should be a non-empty sequence of module '
                        f'paths, but got {prefixes!r}')
    modules = dict(student.named_modules())
    absent = [p for p in prefixes if p not in modules]
    if absent:
        raise KeyError(f'the student has no module {absent}; prefixes should'
                       f' name student modules such as '
                       f'{[n for n in modules if n and "." not in n]}')
    theirs = teacher.state_dict()
    copied, skipped = [], []
    for name, tensor in student.state_dict(keep_vars=True).items():
        if not _under(name, prefixes):
            continue
        source = theirs.get(name)
        if source is None:
            skipped.append(f'{name}: not in the teacher')
        elif source.shape != tensor.shape:
            skipped.append(f'{name}: shape {tuple(tensor.shape)} vs the '
                           f"teacher's {tuple(source.shape)}")
        else:
            tensor.data.copy_(source.to(tensor.device, tensor.dtype))
            copied.append(name)
    print_log(
        f'inherit_from_teacher {list(prefixes)}: copied {len(copied)} '
        f'tensors {copied}; skipped {len(skipped)} {skipped}',
        logger=logger)
    return copied, skipped
