"""A CPU stand-in for ``torch.cuda.set_sync_debug_mode('error')``.

On a GPU, the sync debug mode reports every call that makes the host wait
for the device. On CPUs nothing waits, so :class:`HostSyncRecorder` wraps the
Python-level operations that do wait on CUDA and records who called them:

* reading device values on the host: ``item``, ``tolist``, ``numpy``,
  ``cpu``, ``bool()``/``int()``/``float()``/``operator.index`` of a tensor,
  ``torch.equal``, ``torch.allclose``;
* results whose size depends on the data (the host must learn it):
  ``nonzero``, ``argwhere``, ``unique``, ``unique_consecutive``,
  ``masked_select``, ``bincount``, one-argument ``torch.where``,
  ``repeat_interleave`` with tensor repeats and no ``output_size``, and
  indexing or assigning with a boolean mask;
* blocking host-to-device copies of Python data: ``torch.tensor``,
  ``torch.as_tensor`` of non-tensors, ``Tensor.new_tensor`` (all made on
  the device in a GPU run, or copied there).

A call is attributed to the module of the Python frame that made it, so
mmkd's calls can be told from those inside mmdet, mmcv or torch.
"""
import sys
from collections import Counter
from typing import Callable, List, Tuple

import torch

__all__ = ['HostSyncRecorder']


def _always(*args, **kwargs) -> bool:
    return True


def _has_bool_index(tensor, index, *rest) -> bool:
    items = index if isinstance(index, tuple) else (index, )
    return any(
        isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8)
        for i in items)


def _tensor_repeats(*args, **kwargs) -> bool:
    repeats = kwargs.get('repeats', args[1] if len(args) > 1 else None)
    return isinstance(repeats, torch.Tensor) and \
        kwargs.get('output_size') is None


def _condition_only(*args, **kwargs) -> bool:
    return len(args) + len(kwargs) == 1


def _python_data(*args, **kwargs) -> bool:
    data = args[0] if args else kwargs.get('data')
    return not isinstance(data, torch.Tensor)


# (owner, attribute, when the call synchronises)
_SYNCING: List[Tuple[object, str, Callable[..., bool]]] = [
    (torch.Tensor, name, _always)
    for name in ('item', 'tolist', 'numpy', 'cpu', '__bool__', '__int__',
                 '__float__', '__index__', 'nonzero', 'argwhere', 'unique',
                 'unique_consecutive', 'masked_select', 'bincount', 'equal',
                 'allclose')
] + [(torch, name, _always)
     for name in ('equal', 'allclose', 'nonzero', 'argwhere', 'unique',
                  'unique_consecutive', 'masked_select', 'bincount')] + [
                      (torch.Tensor, '__getitem__', _has_bool_index),
                      (torch.Tensor, '__setitem__', _has_bool_index),
                      (torch.Tensor, 'repeat_interleave', _tensor_repeats),
                      (torch, 'repeat_interleave', _tensor_repeats),
                      (torch, 'where', _condition_only),
                      (torch, 'tensor', _always),
                      (torch, 'as_tensor', _python_data),
                      (torch.Tensor, 'new_tensor', _always),
                  ]


class HostSyncRecorder:
    """Record host-device synchronisations while inside ``with``.

    Attributes:
        calls (Counter): ``(op, module, line) -> count`` for every call.
    """

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self._saved: list = []

    def by(self, prefix: str) -> Counter:
        """The calls made from modules whose name starts with ``prefix``."""
        return Counter({
            k: n
            for k, n in self.calls.items()
            if k[1] == prefix or k[1].startswith(prefix + '.')
        })

    def _wrap(self, name: str, original: Callable,
              syncs: Callable[..., bool]) -> Callable:
        recorder = self

        def wrapper(*args, **kwargs):
            if syncs(*args, **kwargs):
                frame = sys._getframe(1)
                recorder.calls[(name, frame.f_globals.get('__name__', '?'),
                                frame.f_lineno)] += 1
            return original(*args, **kwargs)

        return wrapper

    def __enter__(self) -> 'HostSyncRecorder':
        for owner, attr, syncs in _SYNCING:
            original = getattr(owner, attr)
            # an inherited slot (Tensor.__bool__ lives on TensorBase) is
            # deleted again rather than copied onto the subclass
            self._saved.append((owner, attr, original, attr in vars(owner)))
            label = f'{getattr(owner, "__name__", owner)}.{attr}'
            setattr(owner, attr, self._wrap(label, original, syncs))
        return self

    def __exit__(self, *exc) -> bool:
        for owner, attr, original, own in reversed(self._saved):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._saved.clear()
        return False
